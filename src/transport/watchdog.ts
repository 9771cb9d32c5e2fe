/**
 * One stall watchdog per connection or stream, instead of a timer per read and per write.
 *
 * With `nodejs_compat`, `setTimeout`/`clearTimeout` are the Node-compat timers (a `Timeout` object wrapped
 * around the runtime's timer); in the socket preset's CPU profile a timer per socket read and write cost about
 * 0.05–0.09 ms per small request, a twentieth of the gateway's CPU. A watchdog keeps one deadline that each
 * operation moves (a field write) and at most one timer: when the timer fires before the deadline it re-arms
 * for the rest, so a connection whose reads keep arriving costs one timer for its whole life.
 *
 * Pure (no `cloudflare:*`): the clock and timer are injectable, the defaults are `Date.now` and the global
 * timers. On Cloudflare `Date.now()` advances only with I/O; a timer firing is I/O, so the check at expiry
 * reads the time it fired.
 */

export interface WatchdogClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const SYSTEM_CLOCK: WatchdogClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What the watchdog was watching when it expired, and for how long it had been silent. */
export interface Expiry<K extends string> {
  kind: K;
  ms: number;
}

/**
 * Watches one operation at a time (`watch`), or any span between `arm` and `disarm`. On expiry `onExpire` does
 * what the stall requires (typically closing the connection) and returns the error the waiting operation, and
 * every later one, fails with.
 */
export class Watchdog<K extends string> {
  readonly #clock: WatchdogClock;
  readonly #onExpire: (expiry: Expiry<K>) => Error;
  /** The error of the expiry, once it happened. */
  #error: Error | null = null;
  /** Rejects the operation `watch` waits on now. */
  #rejectWaiting: ((error: Error) => void) | null = null;
  /** When the watched operation stalls (`Infinity`: nothing watched). */
  #deadline = Number.POSITIVE_INFINITY;
  #kind: K | null = null;
  #ms = 0;
  #timer: unknown = null;
  /** When the pending timer fires (`Infinity`: none pending). */
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(onExpire: (expiry: Expiry<K>) => Error, clock: WatchdogClock = SYSTEM_CLOCK) {
    this.#onExpire = onExpire;
    this.#clock = clock;
  }

  /** The expiry's error, or null while the watchdog has not expired. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * Waits for `op`, failing with the expiry's error when it stays unsettled for `ms`. The operation's own later
   * rejection (the connection closing under it) is observed, so it never surfaces as an unhandled error.
   */
  async watch<T>(op: Promise<T>, kind: K, ms: number): Promise<T> {
    op.catch(noop);
    if (this.#error) throw this.#error;
    const stall = new Promise<never>((_, reject) => {
      this.#rejectWaiting = reject;
    });
    this.arm(kind, ms);
    try {
      return await Promise.race([op, stall]);
    } finally {
      this.disarm();
      this.#rejectWaiting = null;
    }
  }

  /** Watches an operation of `kind`: expires `ms` from now unless `arm`ed again or `disarm`ed first. */
  arm(kind: K, ms: number): void {
    if (this.#stopped) return;
    this.#kind = kind;
    this.#ms = ms;
    this.#deadline = this.#clock.now() + ms;
    // A pending timer due no later than the new deadline re-checks then and re-arms for the rest.
    if (this.#timerAt <= this.#deadline) return;
    this.#schedule(ms);
  }

  /** Nothing is watched until the next `arm` (time spent waiting on our own consumer is not a stall). */
  disarm(): void {
    this.#deadline = Number.POSITIVE_INFINITY;
  }

  /** Ends the watchdog for good (the connection closed): clears the pending timer. */
  stop(): void {
    this.#stopped = true;
    this.#deadline = Number.POSITIVE_INFINITY;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timerAt = this.#clock.now() + ms;
    this.#timer = this.#clock.setTimer(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#stopped || this.#deadline === Number.POSITIVE_INFINITY) return;
    const left = this.#deadline - this.#clock.now();
    if (left > 0) {
      this.#schedule(left);
      return;
    }
    const expiry = { kind: this.#kind as K, ms: this.#ms };
    this.stop();
    this.#error = this.#onExpire(expiry);
    this.#rejectWaiting?.(this.#error);
  }
}

function noop(): void {}

/**
 * The bound on Gemini Live resumptions of one relayed session (issue 11.7), pure: the clock is a parameter.
 *
 * Every upstream connection the relay opens to resume a session claims one slot. Within any `windowMs` at most
 * `maxResumes` slots are granted; each slot after the first in the window waits longer (exponential backoff from
 * `backoffBaseMs`, capped at `backoffMaxMs`). When the window is full the claim is refused and the relay gives up
 * with a close the client can read. So whatever the upstream answers (drops after every message, refused setups),
 * the relay opens at most `maxResumes` connections per window, spaced out, and never loops.
 */

export interface ResumeBudgetOptions {
  /** Resumption connections allowed within any window. */
  maxResumes: number;
  windowMs: number;
  /** Wait before the second connection in a window; doubles for each further one. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RESUME_BUDGET: Readonly<ResumeBudgetOptions> = Object.freeze({
  maxResumes: 5,
  windowMs: 60_000,
  backoffBaseMs: 500,
  backoffMaxMs: 8_000,
});

export class ResumeBudget {
  readonly #opts: ResumeBudgetOptions;
  readonly #now: () => number;
  /** When each granted connection may start (claim time plus its backoff), oldest first. */
  #granted: number[] = [];

  constructor(opts: ResumeBudgetOptions, now: () => number) {
    this.#opts = opts;
    this.#now = now;
  }

  /** Connections granted within the window ending now. */
  get recent(): number {
    this.#forget(this.#now());
    return this.#granted.length;
  }

  /**
   * Claims one resumption connection: the milliseconds to wait before opening it, or null when the window's budget
   * is spent (the session must not be resumed again).
   */
  claim(): number | null {
    const now = this.#now();
    this.#forget(now);
    const used = this.#granted.length;
    if (used >= this.#opts.maxResumes) return null;
    const delay =
      used === 0 ? 0 : Math.min(this.#opts.backoffMaxMs, this.#opts.backoffBaseMs * 2 ** (used - 1));
    this.#granted.push(now + delay);
    return delay;
  }

  #forget(now: number): void {
    while (this.#granted.length > 0 && this.#granted[0]! <= now - this.#opts.windowMs) this.#granted.shift();
  }
}

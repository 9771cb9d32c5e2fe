import { describe, expect, it } from "vitest";
import { type Expiry, Watchdog, type WatchdogClock } from "./watchdog";

/** A manual clock: timers fire only when the test advances time past them. */
class FakeClock implements WatchdogClock {
  at = 0;
  timersSet = 0;
  #timers = new Map<number, { due: number; fn: () => void }>();
  #next = 1;
  now = () => this.at;
  setTimer = (fn: () => void, ms: number) => {
    this.timersSet++;
    const id = this.#next++;
    this.#timers.set(id, { due: this.at + ms, fn });
    return id;
  };
  clearTimer = (handle: unknown) => {
    this.#timers.delete(handle as number);
  };
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    const until = this.at + ms;
    for (;;) {
      const due = [...this.#timers.entries()].sort((a, b) => a[1].due - b[1].due)[0];
      if (!due || due[1].due > until) break;
      this.#timers.delete(due[0]);
      this.at = due[1].due;
      due[1].fn();
    }
    this.at = until;
  }
}

function watched() {
  const clock = new FakeClock();
  const expired: Expiry<"idle" | "first_byte">[] = [];
  const dog = new Watchdog<"idle" | "first_byte">((e) => {
    expired.push(e);
    return new Error(`stalled: ${e.kind} after ${e.ms} ms`);
  }, clock);
  return { clock, expired, dog };
}

describe("Watchdog", () => {
  it("expires an operation that stays silent for its whole time, naming what it watched", () => {
    const { clock, expired, dog } = watched();
    dog.arm("first_byte", 100);
    clock.advance(99);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual([{ kind: "first_byte", ms: 100 }]);
  });

  it("never expires while every operation completes in time, and uses one timer for many operations", () => {
    const { clock, expired, dog } = watched();
    // Operations far shorter than the stall limit, as on a live connection (1 ms reads, a 100 ms limit).
    for (let i = 0; i < 1_000; i++) {
      dog.arm("idle", 100);
      clock.advance(1);
      dog.disarm();
    }
    expect(expired).toEqual([]);
    // About one timer per 100 ms of life, not one per operation.
    expect(clock.timersSet).toBeLessThanOrEqual(12);
  });

  it("restarts the silence on every arm: a late timer re-arms for the rest instead of expiring early", () => {
    const { clock, expired, dog } = watched();
    dog.arm("idle", 100);
    clock.advance(90);
    dog.arm("idle", 100); // progress at 90: the deadline is now 190
    clock.advance(20); // the first timer fires at 100 and finds 90 ms left
    expect(expired).toEqual([]);
    clock.advance(79);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual([{ kind: "idle", ms: 100 }]);
  });

  it("does not count time while disarmed (waiting on our own consumer is not a stall)", () => {
    const { clock, expired, dog } = watched();
    dog.arm("idle", 100);
    clock.advance(50);
    dog.disarm();
    clock.advance(10_000);
    expect(expired).toEqual([]);
    dog.arm("idle", 100);
    clock.advance(100);
    expect(expired).toEqual([{ kind: "idle", ms: 100 }]);
  });

  it("moves the timer earlier when a shorter operation is armed after a longer one", () => {
    const { clock, expired, dog } = watched();
    dog.arm("first_byte", 10_000);
    dog.arm("idle", 100);
    clock.advance(100);
    expect(expired).toEqual([{ kind: "idle", ms: 100 }]);
  });

  it("expires at most once and leaves no timer behind after stop", () => {
    const { clock, expired, dog } = watched();
    dog.arm("idle", 100);
    clock.advance(100);
    dog.arm("idle", 100);
    clock.advance(1_000);
    expect(expired).toHaveLength(1);
    const second = watched();
    second.dog.arm("idle", 100);
    second.dog.stop();
    expect(second.clock.pending).toBe(0);
    second.clock.advance(1_000);
    expect(second.expired).toEqual([]);
  });

  it("watch: settles with the operation, or fails it and every later one with the expiry's error", async () => {
    const { clock, dog } = watched();
    await expect(dog.watch(Promise.resolve("head"), "first_byte", 100)).resolves.toBe("head");
    const never = new Promise<string>(() => {});
    const waiting = dog.watch(never, "idle", 100);
    clock.advance(100);
    await expect(waiting).rejects.toThrow("stalled: idle after 100 ms");
    await expect(dog.watch(Promise.resolve("late"), "idle", 100)).rejects.toThrow("stalled: idle");
    expect(dog.error?.message).toBe("stalled: idle after 100 ms");
  });

  it("watch: an operation that rejects after the expiry is observed, not left unhandled", async () => {
    const { clock, dog } = watched();
    let fail: (e: Error) => void = () => {};
    const op = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const waiting = dog.watch(op, "idle", 10);
    clock.advance(10);
    await expect(waiting).rejects.toThrow("stalled");
    fail(new Error("socket closed")); // would be an unhandled rejection without watch's own catch
    await Promise.resolve();
  });
});

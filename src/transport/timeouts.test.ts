import { describe, expect, it, vi } from "vitest";
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_EGRESS_TIMEOUTS,
  FIRST_BYTE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  raceTimeout,
  resolveTimeouts,
} from "./timeouts";

describe("resolveTimeouts", () => {
  it("fills defaults that tolerate slow LLM time-to-first-token", () => {
    expect(resolveTimeouts()).toEqual({
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
    });
    expect(FIRST_BYTE_TIMEOUT_MS).toBeGreaterThanOrEqual(120_000);
    expect(CONNECT_TIMEOUT_MS).toBeLessThan(FIRST_BYTE_TIMEOUT_MS);
  });

  it("overrides only the given fields and does not mutate the defaults", () => {
    expect(resolveTimeouts({ idleTimeoutMs: 5 })).toEqual({ ...DEFAULT_EGRESS_TIMEOUTS, idleTimeoutMs: 5 });
    expect(DEFAULT_EGRESS_TIMEOUTS.idleTimeoutMs).toBe(IDLE_TIMEOUT_MS);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("rejects %d", (value) => {
    expect(() => resolveTimeouts({ connectTimeoutMs: value })).toThrow(RangeError);
  });
});

describe("raceTimeout", () => {
  it("resolves with the promise when it settles first", async () => {
    const onTimeout = vi.fn();
    await expect(raceTimeout(Promise.resolve(7), 1000, () => new Error("late"), onTimeout)).resolves.toBe(7);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("runs onTimeout and rejects with the typed error when the timer fires first", async () => {
    vi.useFakeTimers();
    try {
      const onTimeout = vi.fn();
      const never = new Promise<number>(() => {});
      const raced = raceTimeout(never, 50, () => new Error("timed out"), onTimeout);
      const check = expect(raced).rejects.toThrow("timed out");
      await vi.advanceTimersByTimeAsync(50);
      await check;
      expect(onTimeout).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });
});

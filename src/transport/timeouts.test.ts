import { describe, expect, it } from "vitest";
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_EGRESS_TIMEOUTS,
  FIRST_BYTE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
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

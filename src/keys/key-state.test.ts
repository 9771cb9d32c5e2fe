import { describe, expect, it } from "vitest";
import { applyKeyOutcomes, type KeyOutcome, type KeyRecord, keyStateOf } from "./key-state";

const GEN = "g1";
const at = (ms: number, kind: KeyOutcome["kind"], extra: Partial<KeyOutcome> = {}): KeyOutcome => ({
  fingerprint: "f1",
  at: ms,
  kind,
  status: kind === "success" ? 200 : kind === "rate_limited" ? 429 : kind === "invalid" ? 401 : 402,
  generation: GEN,
  ...extra,
});

describe("key state machine", () => {
  it("a 429 cools the key for its delay, then it is ok again", () => {
    const records: Record<string, KeyRecord> = {};
    applyKeyOutcomes(records, [at(1_000, "rate_limited", { cooldownMs: 5_000 })]);
    const r = records.f1!;
    expect(keyStateOf(r, 1_000, GEN)).toBe("rate_limited");
    expect(keyStateOf(r, 5_999, GEN)).toBe("rate_limited");
    expect(keyStateOf(r, 6_000, GEN)).toBe("ok");
    expect(r).toMatchObject({
      requests: 1,
      rateLimited: 1,
      lastError: { kind: "rate_limited", status: 429, at: 1_000 },
    });
  });

  it("invalid holds until the pool generation changes; a success clears it", () => {
    const records: Record<string, KeyRecord> = {};
    applyKeyOutcomes(records, [at(0, "invalid")]);
    expect(keyStateOf(records.f1, 10_000_000, GEN)).toBe("invalid");
    expect(keyStateOf(records.f1, 0, "g2")).toBe("ok");
    applyKeyOutcomes(records, [at(1, "success")]);
    expect(keyStateOf(records.f1, 1, GEN)).toBe("ok");
  });

  it("exhaustion is not shortened by a later short rate limit; a success ends any cool-down", () => {
    const records: Record<string, KeyRecord> = {};
    applyKeyOutcomes(records, [
      at(0, "exhausted", { cooldownMs: 3_600_000 }),
      at(10, "rate_limited", { cooldownMs: 1_000 }),
    ]);
    expect(keyStateOf(records.f1, 5_000, GEN)).toBe("exhausted");
    expect(records.f1!.cooldownUntil).toBe(3_600_000);
    applyKeyOutcomes(records, [at(20, "success")]);
    expect(keyStateOf(records.f1, 21, GEN)).toBe("ok");
    expect(records.f1).toMatchObject({ requests: 3, successes: 1, rateLimited: 1 });
  });

  it("other outcomes count a request and change nothing", () => {
    const records: Record<string, KeyRecord> = {};
    applyKeyOutcomes(records, [at(0, "other", { status: 500 })]);
    expect(records.f1).toMatchObject({ requests: 1, lastError: null, cooldownUntil: null });
  });
});

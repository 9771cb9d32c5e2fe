import { describe, expect, it } from "vitest";
import type { KeyOutcome, KeyRecord } from "../../keys/key-state";
import {
  applyOutcomes,
  DEFAULT_HEALTH_POLICY,
  type HealthPolicy,
  type Outcome,
  type OutcomeKind,
  type TargetRecord,
} from "./health-policy";
import { applyKeyOutcomesClassified, applyOutcomesClassified } from "./write-behind";

const A = "http://a.test";
const B = "http://b.test";
const TARGETS = [A, B];
const policy: HealthPolicy = { ...DEFAULT_HEALTH_POLICY, consecutiveFailures: 3 };

function out(
  url: string,
  at: number,
  kind: OutcomeKind,
  status: number | null = null,
  extra?: Partial<Outcome>,
) {
  return { url, at, kind, status, latencyMs: kind === "success" ? 100 : null, ...extra } satisfies Outcome;
}

const sorted = (s: Set<string>) => [...s].sort();

describe("applyOutcomesClassified", () => {
  it("updates the records exactly as applyOutcomes does", () => {
    const outcomes = [
      out(A, 0, "success", 200),
      out(A, 1, "connect_error"),
      out(A, 2, "connect_error"),
      out(A, 3, "connect_error"),
      out(B, 4, "rate_limited", 429, { retryAfterMs: 5_000 }),
      out(A, 200_000, "success", 200),
    ];
    const plain: Record<string, TargetRecord> = {};
    const classified: Record<string, TargetRecord> = {};
    applyOutcomes(plain, outcomes, policy, TARGETS);
    applyOutcomesClassified(classified, outcomes, policy, TARGETS);
    expect(classified).toEqual(plain);
  });

  it("routine statistics (successes, a failure below every rule) are changed but not decisive", () => {
    const records: Record<string, TargetRecord> = {};
    const r = applyOutcomesClassified(
      records,
      [out(A, 0, "success", 200), out(B, 0, "success", 200), out(A, 1, "connect_error")],
      policy,
      TARGETS,
    );
    expect(sorted(r.changed)).toEqual([A, B]);
    expect(sorted(r.decisive)).toEqual([]);
  });

  it("an ejection, a rate-limit cool-down and a return to service are decisive", () => {
    const records: Record<string, TargetRecord> = {};
    // The third failure in a row ejects A; B's 429 starts a cool-down.
    const ejected = applyOutcomesClassified(
      records,
      [
        out(A, 0, "connect_error"),
        out(A, 1, "connect_error"),
        out(A, 2, "connect_error"),
        out(B, 3, "rate_limited", 429),
      ],
      policy,
      TARGETS,
    );
    expect(records[A]!.ejectedUntil).not.toBeNull();
    expect(sorted(ejected.decisive)).toEqual([A, B]);
    // Once the ejection is over, the probe's success returns A to service.
    const back = applyOutcomesClassified(records, [out(A, 1_000_000, "success", 200)], policy, TARGETS);
    expect(records[A]!.ejectedUntil).toBeNull();
    expect(sorted(back.decisive)).toEqual([A]);
  });

  it("a target that starts or stops breaking a rule while kept in service (failing) is decisive", () => {
    const lone = [A];
    const records: Record<string, TargetRecord> = {};
    const two = applyOutcomesClassified(
      records,
      [out(A, 0, "connect_error"), out(A, 1, "connect_error")],
      policy,
      lone,
    );
    expect(sorted(two.decisive)).toEqual([]);
    // The third failure breaks the rule, but a lone target is never ejected: it becomes `failing`.
    const third = applyOutcomesClassified(records, [out(A, 2, "connect_error")], policy, lone);
    expect(records[A]!.ejectedUntil).toBeNull();
    expect(sorted(third.decisive)).toEqual([A]);
    // Still failing: routine.
    const fourth = applyOutcomesClassified(records, [out(A, 3, "connect_error")], policy, lone);
    expect(sorted(fourth.decisive)).toEqual([]);
    // A success ends the run: decisive again.
    const ok = applyOutcomesClassified(records, [out(A, 4, "success", 200)], policy, lone);
    expect(sorted(ok.decisive)).toEqual([A]);
  });
});

describe("applyKeyOutcomesClassified", () => {
  const key = (fingerprint: string, at: number, kind: KeyOutcome["kind"], extra?: Partial<KeyOutcome>) =>
    ({
      fingerprint,
      at,
      kind,
      status: kind === "success" ? 200 : kind === "rate_limited" ? 429 : 401,
      generation: "g1",
      ...extra,
    }) satisfies KeyOutcome;

  it("counters are routine; a cool-down, an invalid mark and their end are decisive", () => {
    const records: Record<string, KeyRecord> = {};
    const routine = applyKeyOutcomesClassified(records, [key("k1", 0, "success"), key("k2", 0, "other")]);
    expect(sorted(routine.changed)).toEqual(["k1", "k2"]);
    expect(sorted(routine.decisive)).toEqual([]);

    const bad = applyKeyOutcomesClassified(records, [
      key("k1", 1, "rate_limited", { cooldownMs: 10_000 }),
      key("k2", 1, "invalid"),
    ]);
    expect(sorted(bad.decisive)).toEqual(["k1", "k2"]);

    // A success clears k1's cool-down; k2 stays invalid under this generation ("other" changes nothing).
    const after = applyKeyOutcomesClassified(records, [key("k1", 2, "success"), key("k2", 2, "other")]);
    expect(sorted(after.decisive)).toEqual(["k1"]);
  });
});

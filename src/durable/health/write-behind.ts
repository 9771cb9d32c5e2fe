/**
 * Which record changes a `TargetHealth` object must write at once and which it may write behind (pure).
 *
 * A sync that carries outcomes changes records in two ways. Routine statistics (counters, latency samples, the
 * success-rate window, `last_error`) change with every outcome; losing the last second of them in a crash costs a
 * little accuracy in `/health`. Decisions (an ejection or a return to service, a rate-limit or key cool-down, a
 * claimed probe, a key found invalid, a target that starts or stops breaking an outlier rule, i.e. `failing`) change
 * rarely and steer traffic; losing one would send requests to a target or key known to be bad. The object therefore
 * writes a record at once when a decision changed and otherwise only marks it dirty for the next flush
 * (`STATS_FLUSH_INTERVAL_MS` in `target-health.ts`), which takes the per-sync SQLite write off the common path.
 */
import type { KeyOutcome, KeyRecord } from "../../keys/key-state";
import { applyKeyOutcomes } from "../../keys/key-state";
import {
  applyOutcomes,
  brokenRule,
  type HealthPolicy,
  type Outcome,
  type TargetRecord,
} from "./health-policy";

/** What a batch of outcomes changed: every record touched, and those of them whose decision changed. */
export interface AppliedChanges {
  changed: Set<string>;
  decisive: Set<string>;
}

/** The fields of a target record that steer selection, as of `at` (`failing` depends on the time). */
function targetDecision(record: TargetRecord | undefined, at: number, policy: HealthPolicy): unknown[] {
  if (record === undefined) return [null, null, 0, null, null, null, null];
  return [
    record.ejectedUntil,
    record.ejectionReason,
    record.ejectionLevel,
    record.rateLimitedUntil,
    record.probeSince,
    record.returnedAt,
    brokenRule(record, at, policy),
  ];
}

function keyDecision(record: KeyRecord | undefined): unknown[] {
  if (record === undefined) return [null, null, null];
  return [record.cooldownUntil, record.cooldownKind, record.invalidGeneration];
}

function sameDecision(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * `applyOutcomes`, one outcome at a time, noting for each record whether its decision changed (see the module
 * comment). The records are updated exactly as `applyOutcomes` updates them.
 */
export function applyOutcomesClassified(
  records: Record<string, TargetRecord>,
  outcomes: readonly Outcome[],
  policy: HealthPolicy,
  targetUrls: readonly string[],
): AppliedChanges {
  const changed = new Set<string>();
  const decisive = new Set<string>();
  for (const outcome of outcomes) {
    const before = targetDecision(records[outcome.url], outcome.at, policy);
    applyOutcomes(records, [outcome], policy, targetUrls);
    changed.add(outcome.url);
    if (!sameDecision(before, targetDecision(records[outcome.url], outcome.at, policy))) {
      decisive.add(outcome.url);
    }
  }
  return { changed, decisive };
}

/** `applyKeyOutcomes`, noting which keys' cool-down or invalid mark changed. */
export function applyKeyOutcomesClassified(
  records: Record<string, KeyRecord>,
  outcomes: readonly KeyOutcome[],
): AppliedChanges {
  const changed = new Set<string>();
  const decisive = new Set<string>();
  for (const outcome of outcomes) {
    const before = keyDecision(records[outcome.fingerprint]);
    applyKeyOutcomes(records, [outcome]);
    changed.add(outcome.fingerprint);
    if (!sameDecision(before, keyDecision(records[outcome.fingerprint]))) decisive.add(outcome.fingerprint);
  }
  return { changed, decisive };
}

/**
 * Outlier detection and rate-limit policy for the targets of one endpoint (pure). The semantics
 * follow Envoy's outlier detection: consecutive gateway failures and a success-rate threshold eject
 * a target; each repeated ejection lasts longer (base × level, capped); at most a share of the
 * targets is ejected at once; after the ejection time one live request probes the target and its
 * outcome decides. A 429 marks a target `rate_limited` until its `Retry-After`.
 *
 * Every threshold below is a named default that `EndpointConfig.health` may override per endpoint,
 * using the `HealthPolicy` field names, e.g. `"health": { "consecutiveFailures": 3 }`.
 */
import type { EndpointConfig } from "../../transport/endpoint";
import { ConfigError } from "../../transport/errors";
import { emptyStats, recordSample, resetWindow, type TargetStats, windowCounts } from "./health-stats";

/** Gateway failures in a row (connect error, timeout, reset, 502/503/504) that eject a target. */
export const CONSECUTIVE_FAILURES_TO_EJECT = 5;
/** A target whose success rate over the window falls below this is ejected… */
export const SUCCESS_RATE_THRESHOLD = 0.5;
/** …provided the window holds at least this many requests (429s do not count). */
export const SUCCESS_RATE_MIN_REQUESTS = 10;
/** Length of the success-rate window. */
export const SUCCESS_RATE_WINDOW_MS = 60_000;
/** First ejection time; the n-th ejection in a row lasts n × this (Envoy's `base_ejection_time`). */
export const BASE_EJECTION_MS = 30_000;
/** Cap of the ejection time (Envoy's `max_ejection_time`). */
export const MAX_EJECTION_MS = 300_000;
/** The ejection level drops by one for each such period a target stays in service. */
export const EJECTION_LEVEL_DECAY_MS = 300_000;
/** At most this share of an endpoint's targets is ejected at once (at least one when it has two or more). */
export const MAX_EJECTION_SHARE = 0.5;
/** A claimed probe that never reported (its isolate died) lets another request probe after this. */
export const PROBE_TIMEOUT_MS = 120_000;
/** Rate-limit cool-down when a 429 carries no usable `Retry-After`. */
export const RATE_LIMIT_DEFAULT_MS = 15_000;
/** Longest rate-limit cool-down honoured, whatever `Retry-After` says. */
export const RATE_LIMIT_MAX_MS = 600_000;
/** Targets tried for one client request (the first attempt included). */
export const MAX_ATTEMPTS = 3;
/** No new failover attempt starts later than this after the client request arrived. */
export const FAILOVER_DEADLINE_MS = 60_000;
/**
 * Request bodies up to this size are buffered so a failed attempt can be replayed on another target;
 * a larger body streams straight through and is not failed over.
 */
export const REPLAY_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface HealthPolicy {
  consecutiveFailures: number;
  successRateThreshold: number;
  successRateMinRequests: number;
  successRateWindowMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  ejectionLevelDecayMs: number;
  maxEjectionShare: number;
  probeTimeoutMs: number;
  rateLimitDefaultMs: number;
  rateLimitMaxMs: number;
  maxAttempts: number;
  failoverDeadlineMs: number;
  replayBodyLimitBytes: number;
}

export const DEFAULT_HEALTH_POLICY: Readonly<HealthPolicy> = Object.freeze({
  consecutiveFailures: CONSECUTIVE_FAILURES_TO_EJECT,
  successRateThreshold: SUCCESS_RATE_THRESHOLD,
  successRateMinRequests: SUCCESS_RATE_MIN_REQUESTS,
  successRateWindowMs: SUCCESS_RATE_WINDOW_MS,
  baseEjectionMs: BASE_EJECTION_MS,
  maxEjectionMs: MAX_EJECTION_MS,
  ejectionLevelDecayMs: EJECTION_LEVEL_DECAY_MS,
  maxEjectionShare: MAX_EJECTION_SHARE,
  probeTimeoutMs: PROBE_TIMEOUT_MS,
  rateLimitDefaultMs: RATE_LIMIT_DEFAULT_MS,
  rateLimitMaxMs: RATE_LIMIT_MAX_MS,
  maxAttempts: MAX_ATTEMPTS,
  failoverDeadlineMs: FAILOVER_DEADLINE_MS,
  replayBodyLimitBytes: REPLAY_BODY_LIMIT_BYTES,
});

/** Fields that are shares in 0..1 rather than counts or durations. */
const SHARE_FIELDS = new Set<keyof HealthPolicy>(["successRateThreshold", "maxEjectionShare"]);
/** Fields that must be whole numbers ≥ 1. */
const COUNT_FIELDS = new Set<keyof HealthPolicy>(["consecutiveFailures", "maxAttempts"]);

/**
 * Applies per-endpoint overrides to the defaults. Throws `ConfigError` (variable `ENDPOINTS`) for an
 * unknown field or an out-of-range value, so a typo is never silently ignored.
 */
export function resolveHealthPolicy(overrides?: Record<string, number>, endpointName = "?"): HealthPolicy {
  const policy: HealthPolicy = { ...DEFAULT_HEALTH_POLICY };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!(key in DEFAULT_HEALTH_POLICY)) {
      const known = Object.keys(DEFAULT_HEALTH_POLICY).join(", ");
      throw new ConfigError(
        "ENDPOINTS",
        `${endpointName}.health.${key} is not a known field (known: ${known})`,
      );
    }
    const field = key as keyof HealthPolicy;
    const bad = (why: string) =>
      new ConfigError("ENDPOINTS", `${endpointName}.health.${key} ${why}, got ${value}`);
    if (typeof value !== "number" || !Number.isFinite(value)) throw bad("must be a finite number");
    if (SHARE_FIELDS.has(field) && (value < 0 || value > 1)) throw bad("must be between 0 and 1");
    if (COUNT_FIELDS.has(field) && (!Number.isInteger(value) || value < 1))
      throw bad("must be an integer ≥ 1");
    if (!SHARE_FIELDS.has(field) && value < 0) throw bad("must not be negative");
    policy[field] = value;
  }
  return policy;
}

const policies = new WeakMap<EndpointConfig, HealthPolicy>();

/**
 * The endpoint's resolved policy, computed once per endpoint object: the parsed configuration is
 * cached across requests, so the hot path does not re-validate the overrides each time.
 */
export function policyFor(endpoint: EndpointConfig): HealthPolicy {
  let policy = policies.get(endpoint);
  if (!policy) {
    policy = resolveHealthPolicy(endpoint.health, endpoint.name);
    policies.set(endpoint, policy);
  }
  return policy;
}

export type TargetState = "healthy" | "ejected" | "rate_limited" | "probing";
/**
 * The state `/health` and the dashboard show: `TargetState`, plus `failing` for a target that selection treats as
 * `healthy` (it stays in service) although it breaks an outlier rule (see `reportedStateOf`).
 */
export type ReportedState = TargetState | "failing";

/** How one attempt against a target ended. */
export type OutcomeKind =
  | "success"
  | "http_5xx"
  | "rate_limited"
  | "connect_error"
  | "timeout"
  | "reset"
  | "protocol_error"
  | "upstream_error"
  /** A guarded stream (issue 12) was cut: it ended without its final event, broke off or stalled. */
  | "stream_cut"
  /** A guarded stream carried the upstream's own in-band error event (or a failed final event). */
  | "stream_error";

export interface Outcome {
  url: string;
  /** When the attempt ended, ms since the epoch. */
  at: number;
  kind: OutcomeKind;
  /** HTTP status when a response head arrived. */
  status: number | null;
  /** Time to the response head; null when none arrived. */
  latencyMs: number | null;
  /** For `rate_limited`: cool-down from `Retry-After` (already defaulted and capped). */
  retryAfterMs?: number;
}

export interface TargetRecord {
  url: string;
  stats: TargetStats;
  /** Ejected until this time; after it, `probing` until a probe's outcome arrives. */
  ejectedUntil: number | null;
  ejectionReason: "consecutive_failures" | "success_rate" | null;
  /** Ejections in a row; sets the next ejection's length. Decays while the target stays in service. */
  ejectionLevel: number;
  ejections: number;
  /** When the target last returned to service (probe succeeded). */
  returnedAt: number | null;
  rateLimitedUntil: number | null;
  /** When the outstanding probe was claimed; null when none is out. */
  probeSince: number | null;
  lastError: { kind: OutcomeKind; status: number | null; at: number } | null;
}

export function emptyRecord(url: string): TargetRecord {
  return {
    url,
    stats: emptyStats(),
    ejectedUntil: null,
    ejectionReason: null,
    ejectionLevel: 0,
    ejections: 0,
    returnedAt: null,
    rateLimitedUntil: null,
    probeSince: null,
    lastError: null,
  };
}

export function stateOf(record: TargetRecord | undefined, now: number): TargetState {
  if (!record) return "healthy";
  if (record.ejectedUntil !== null && now < record.ejectedUntil) return "ejected";
  if (record.rateLimitedUntil !== null && now < record.rateLimitedUntil) return "rate_limited";
  if (record.ejectedUntil !== null) return "probing";
  return "healthy";
}

/**
 * The outlier rule a target breaks at `now`, or null: `consecutiveFailures` gateway failures in a row, or a success
 * rate below `successRateThreshold` over a window holding at least `successRateMinRequests` requests. These are the
 * rules `applyOutcome` ejects by.
 */
export function brokenRule(
  record: TargetRecord,
  now: number,
  policy: HealthPolicy,
): "consecutive_failures" | "success_rate" | null {
  if (record.stats.consecutiveFailures >= policy.consecutiveFailures) return "consecutive_failures";
  const { ok, fail } = windowCounts(record.stats, now, policy.successRateWindowMs);
  const total = ok + fail;
  if (total >= policy.successRateMinRequests && ok / total < policy.successRateThreshold)
    return "success_rate";
  return null;
}

/**
 * The state to report. `failing`: the target is in service (`stateOf` says `healthy`, so requests still go to it)
 * while it breaks an outlier rule (`brokenRule`). A target in service that breaks a rule is one the ejection cap kept:
 * a lone target, or the last one left while the others are ejected (`maxEjectionShare`), so there is nowhere else to
 * send its traffic. It shows `healthy` again once it no longer breaks a rule (a success ends a run of failures; the
 * window's success rate recovers or the window empties).
 */
export function reportedStateOf(
  record: TargetRecord | undefined,
  now: number,
  policy: HealthPolicy,
): ReportedState {
  const state = stateOf(record, now);
  if (state !== "healthy" || record === undefined) return state;
  return brokenRule(record, now, policy) === null ? "healthy" : "failing";
}

/** Whether a request may be sent to a `probing` target now (no probe outstanding, or it timed out). */
export function probeAvailable(record: TargetRecord, now: number, policy: HealthPolicy): boolean {
  return record.probeSince === null || now - record.probeSince >= policy.probeTimeoutMs;
}

/** Claims the probe of a `probing` target; false when it is not probing or a probe is already out. */
export function claimProbe(record: TargetRecord, now: number, policy: HealthPolicy): boolean {
  if (stateOf(record, now) !== "probing" || !probeAvailable(record, now, policy)) return false;
  record.probeSince = now;
  return true;
}

/** How many of `targetCount` targets may be ejected at once. A lone target is never ejected. */
export function maxEjectable(targetCount: number, policy: HealthPolicy): number {
  if (targetCount < 2) return 0;
  return Math.max(1, Math.floor(targetCount * policy.maxEjectionShare));
}

/** Ejection length for the given level (1 = first ejection in a row). */
export function ejectionDurationMs(level: number, policy: HealthPolicy): number {
  return Math.min(policy.baseEjectionMs * Math.max(1, level), policy.maxEjectionMs);
}

const GATEWAY_FAILURE_STATUSES = new Set([502, 503, 504]);

export function isGatewayFailure(outcome: Pick<Outcome, "kind" | "status">): boolean {
  switch (outcome.kind) {
    case "success":
    case "rate_limited":
      return false;
    case "http_5xx":
      return outcome.status !== null && GATEWAY_FAILURE_STATUSES.has(outcome.status);
    default:
      return true;
  }
}

function eject(
  record: TargetRecord,
  at: number,
  reason: TargetRecord["ejectionReason"],
  policy: HealthPolicy,
) {
  // Envoy decrements the ejection multiplier while a host stays healthy; we do it in whole periods.
  const decay =
    record.returnedAt === null
      ? 0
      : Math.floor((at - record.returnedAt) / Math.max(1, policy.ejectionLevelDecayMs));
  record.ejectionLevel = Math.max(0, record.ejectionLevel - decay) + 1;
  record.ejectedUntil = at + ejectionDurationMs(record.ejectionLevel, policy);
  record.ejectionReason = reason;
  record.ejections += 1;
  record.probeSince = null;
  resetWindow(record.stats);
}

function returnToService(record: TargetRecord, at: number): void {
  record.ejectedUntil = null;
  record.ejectionReason = null;
  record.probeSince = null;
  record.returnedAt = at;
  record.stats.consecutiveFailures = 0;
  resetWindow(record.stats);
}

/**
 * Applies one outcome to a target's record. `ejectedOthers` is how many *other* targets of the
 * endpoint are currently ejected (for the ejection cap) and `targetCount` how many it has.
 */
export function applyOutcome(
  record: TargetRecord,
  outcome: Outcome,
  policy: HealthPolicy,
  ejectedOthers: number,
  targetCount: number,
): void {
  const ok = outcome.kind === "success";
  const rateLimited = outcome.kind === "rate_limited";
  const gatewayFailure = isGatewayFailure(outcome);
  recordSample(
    record.stats,
    { at: outcome.at, ok, rateLimited, gatewayFailure, latencyMs: outcome.latencyMs },
    policy.successRateWindowMs,
  );
  if (!ok) record.lastError = { kind: outcome.kind, status: outcome.status, at: outcome.at };
  if (rateLimited) {
    const until = outcome.at + clampRetryAfter(outcome.retryAfterMs, policy);
    record.rateLimitedUntil = Math.max(record.rateLimitedUntil ?? 0, until);
  }

  if (record.ejectedUntil !== null) {
    // Any answer that shows the target serving (a success, or a 429: alive but busy) ends the ejection,
    // whether it came from the probe or from panic traffic. A failure only counts once the ejection
    // time is over (it is then the probe's outcome); earlier ones are requests that were in flight.
    if (ok || rateLimited) returnToService(record, outcome.at);
    else if (outcome.at >= record.ejectedUntil) eject(record, outcome.at, record.ejectionReason, policy);
    return;
  }
  if (ok || rateLimited) return;
  if (ejectedOthers >= maxEjectable(targetCount, policy)) return;
  if (gatewayFailure && record.stats.consecutiveFailures >= policy.consecutiveFailures) {
    eject(record, outcome.at, "consecutive_failures", policy);
    return;
  }
  const { ok: wOk, fail: wFail } = windowCounts(record.stats, outcome.at, policy.successRateWindowMs);
  const total = wOk + wFail;
  if (total >= policy.successRateMinRequests && wOk / total < policy.successRateThreshold) {
    eject(record, outcome.at, "success_rate", policy);
  }
}

function clampRetryAfter(ms: number | undefined, policy: HealthPolicy): number {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return policy.rateLimitDefaultMs;
  return Math.min(ms, policy.rateLimitMaxMs);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into a cool-down in ms,
 * defaulted when absent or unparsable and capped by the policy.
 */
export function retryAfterMs(header: string | null, now: number, policy: HealthPolicy): number {
  const value = header?.trim() ?? "";
  if (/^\d+(\.\d+)?$/.test(value)) return clampRetryAfter(Number(value) * 1000, policy);
  if (value !== "" && /[a-z]/i.test(value)) {
    const date = Date.parse(value);
    if (Number.isFinite(date)) return clampRetryAfter(Math.max(0, date - now), policy);
  }
  return policy.rateLimitDefaultMs;
}

/**
 * Applies outcomes in order to an endpoint's records (creating records on first sight) and returns
 * the URLs whose record changed. `targetUrls` are the endpoint's configured targets.
 */
export function applyOutcomes(
  records: Record<string, TargetRecord>,
  outcomes: readonly Outcome[],
  policy: HealthPolicy,
  targetUrls: readonly string[],
): Set<string> {
  const changed = new Set<string>();
  for (const outcome of outcomes) {
    const record = records[outcome.url] ?? emptyRecord(outcome.url);
    records[outcome.url] = record;
    let ejectedOthers = 0;
    for (const url of targetUrls) {
      if (url !== outcome.url && records[url]?.ejectedUntil != null) ejectedOthers += 1;
    }
    applyOutcome(record, outcome, policy, ejectedOthers, Math.max(targetUrls.length, 1));
    changed.add(outcome.url);
  }
  return changed;
}

/**
 * The `/health` JSON (DESIGN §7). Field names are the public contract; extra fields are additive.
 * Reads each endpoint's `TargetHealth` object (after reporting this isolate's queued outcomes) and
 * the session counters.
 */
import type { EndpointConfig, TargetConfig } from "../../transport/endpoint";
import {
  brokenRule,
  DEFAULT_HEALTH_POLICY,
  type HealthPolicy,
  policyFor,
  type ReportedState,
  reportedStateOf,
  type TargetRecord,
} from "./health-policy";
import { type HealthEnv, syncEndpoint } from "./health-snapshot";
import { latencySummary, successRate } from "./health-stats";
import { addKeyHealth, type KeyHealthFields } from "./key-health";
import { readSessionCounters, type SessionCounters } from "./session-counters";

export interface TargetHealthJson {
  url: string;
  weight: number;
  /** `failing`: kept in service (nowhere else to go) while it breaks an outlier rule (`reportedStateOf`). */
  state: ReportedState;
  requests: number;
  successes: number;
  failures: number;
  consecutive_failures: number;
  /** successes / requests, 3 decimals; null before the first request. */
  success_rate: number | null;
  latency_ms: { ewma: number | null; p50: number | null; p95: number | null };
  ejected_until: string | null;
  rate_limited_until: string | null;
  last_error: { kind: string; status: number | null; at: string } | null;
  // Additive fields.
  rate_limited_responses: number;
  ejections: number;
  ejection_reason: string | null;
  /** For `failing`: the outlier rule it breaks (`consecutive_failures` or `success_rate`). */
  failing_reason: string | null;
}

export interface EndpointHealthJson extends KeyHealthFields {
  targets: TargetHealthJson[];
  /** Set when this endpoint's state could not be read. */
  error?: string;
}

export interface HealthReport {
  generated_at: string;
  endpoints: Record<string, EndpointHealthJson>;
  sessions: SessionCounters;
  /** Set when the session counters could not be read (`sessions` then holds zeros). */
  sessions_error?: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One target's `/health` entry (pure). `policy` is the endpoint's (its outlier rules decide `failing`). */
export function targetHealthJson(
  target: TargetConfig,
  record: TargetRecord | undefined,
  now: number,
  policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
): TargetHealthJson {
  const state = reportedStateOf(record, now, policy);
  const s = record?.stats;
  return {
    url: target.url,
    weight: target.weight,
    state,
    requests: s?.requests ?? 0,
    successes: s?.successes ?? 0,
    failures: s?.failures ?? 0,
    consecutive_failures: s?.consecutiveFailures ?? 0,
    success_rate: s ? successRate(s) : null,
    latency_ms: s ? latencySummary(s) : { ewma: null, p50: null, p95: null },
    ejected_until: state === "ejected" ? iso(record?.ejectedUntil ?? null) : null,
    rate_limited_until:
      state === "rate_limited" || state === "ejected" ? iso(activeUntil(record, now)) : null,
    last_error: record?.lastError
      ? {
          kind: record.lastError.kind,
          status: record.lastError.status,
          at: new Date(record.lastError.at).toISOString(),
        }
      : null,
    rate_limited_responses: s?.rateLimited ?? 0,
    ejections: record?.ejections ?? 0,
    ejection_reason: record?.ejectedUntil != null ? record.ejectionReason : null,
    failing_reason: state === "failing" && record ? brokenRule(record, now, policy) : null,
  };
}

function activeUntil(record: TargetRecord | undefined, now: number): number | null {
  const until = record?.rateLimitedUntil ?? null;
  return until !== null && until > now ? until : null;
}

/** One endpoint's `/health` entry (pure): its configured targets, in configuration order. */
export function endpointHealthJson(
  endpoint: EndpointConfig,
  records: Readonly<Record<string, TargetRecord>>,
  now: number,
  policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
): EndpointHealthJson {
  return { targets: endpoint.targets.map((t) => targetHealthJson(t, records[t.url], now, policy)) };
}

/**
 * Builds the `/health` body for `endpoints`. An endpoint whose state cannot be read still appears,
 * with zeroed targets and an `error` string, rather than failing the whole report.
 */
export async function buildHealthReport(
  env: HealthEnv,
  endpoints: readonly EndpointConfig[],
  now: () => number = Date.now,
): Promise<HealthReport> {
  const entries = await Promise.all(
    endpoints.map(async (endpoint): Promise<[string, EndpointHealthJson]> => {
      let policy: HealthPolicy;
      try {
        policy = policyFor(endpoint);
        const records = await syncEndpoint(endpoint, policy, env, now);
        return [endpoint.name, endpointHealthJson(endpoint, records, now(), policy)];
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [endpoint.name, { ...endpointHealthJson(endpoint, {}, now()), error: message }];
      }
    }),
  );
  await addKeyHealth(env, endpoints, entries, now);
  let sessions: SessionCounters;
  let sessionsError: string | undefined;
  try {
    sessions = await readSessionCounters(env);
  } catch (error) {
    sessionsError = error instanceof Error ? error.message : String(error);
    sessions = {
      gemini: { active: 0, completed: 0, recovered: 0, continuations: 0, failed: 0 },
      websocket: { active: 0, completed: 0 },
      stream: { active: 0, completed: 0, recovered: 0, continuations: 0, failed: 0 },
    };
  }
  return {
    generated_at: new Date(now()).toISOString(),
    endpoints: Object.fromEntries(entries),
    sessions,
    ...(sessionsError === undefined ? {} : { sessions_error: sessionsError }),
  };
}

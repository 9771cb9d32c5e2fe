/**
 * The `/health` JSON (DESIGN §7). Field names are the public contract; extra fields are additive.
 * Reads each endpoint's `TargetHealth` objects (the unsharded one and each regional shard the
 * registry lists, after reporting this isolate's queued outcomes), merges the shards
 * (`health-merge.ts`), and adds the session counters.
 */
import type { EndpointConfig, TargetConfig } from "../../transport/endpoint";
import { mergeTargetJson, type RegionHealthJson } from "./health-merge";
import {
  brokenRule,
  DEFAULT_HEALTH_POLICY,
  type HealthPolicy,
  policyFor,
  type ReportedState,
  reportedStateOf,
  type TargetRecord,
} from "./health-policy";
import { shardRegions } from "./health-shards";
import { type HealthEnv, syncEndpoint } from "./health-snapshot";
import { latencySummary, successRate } from "./health-stats";
import { addKeyHealth, type KeyHealthFields } from "./key-health";
import { readRegisteredEndpoints, readSessionCounters, type SessionCounters } from "./session-counters";

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
  /** With regional shards: each shard's state and counters, by region (`default`: the unsharded object). */
  regions?: Record<string, RegionHealthJson>;
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

/** Which shards to read: the registry's entries (read when absent; null: unknown) and the caller's region. */
export interface ShardChoice {
  registered?: readonly string[] | null;
  ownRegion?: string | null;
}

/**
 * One endpoint's entry merged from its shards' records (`regions` in the order read). A shard that cannot be
 * read is left out and named in `error`; when none can be read the targets are zeroed.
 */
async function endpointEntry(
  env: HealthEnv,
  endpoint: EndpointConfig,
  regions: readonly (string | null)[],
  now: () => number,
): Promise<EndpointHealthJson> {
  let policy: HealthPolicy = DEFAULT_HEALTH_POLICY;
  const read: { region: string | null; records: Record<string, TargetRecord> }[] = [];
  const errors: string[] = [];
  try {
    policy = policyFor(endpoint);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  if (errors.length === 0) {
    const results = await Promise.allSettled(regions.map((r) => syncEndpoint(endpoint, policy, env, now, r)));
    results.forEach((result, i) => {
      const region = regions[i] ?? null;
      if (result.status === "fulfilled") read.push({ region, records: result.value });
      else {
        const message = result.reason instanceof Error ? result.reason.message : String(result.reason);
        errors.push(region === null ? message : `${message} (region ${region})`);
      }
    });
  }
  const at = now();
  const entry: EndpointHealthJson =
    read.length === 0
      ? endpointHealthJson(endpoint, {}, at)
      : {
          targets: endpoint.targets.map((t) =>
            mergeTargetJson(
              read.map(({ region, records }) => ({
                region,
                record: records[t.url],
                json: targetHealthJson(t, records[t.url], at, policy),
              })),
            ),
          ),
        };
  return errors.length === 0 ? entry : { ...entry, error: errors.join("; ") };
}

/**
 * Builds the `/health` body for `endpoints`, each merged from its shards (`ShardChoice`). An endpoint whose
 * state cannot be read still appears, with zeroed targets and an `error` string, rather than failing the whole
 * report.
 */
export async function buildHealthReport(
  env: HealthEnv,
  endpoints: readonly EndpointConfig[],
  now: () => number = Date.now,
  shards: ShardChoice = {},
): Promise<HealthReport> {
  const registered =
    shards.registered !== undefined
      ? shards.registered
      : await readRegisteredEndpoints(env).catch(() => null);
  const regionsOf = new Map(
    endpoints.map((e) => [e.name, shardRegions(registered, e.name, shards.ownRegion ?? null)]),
  );
  const entries = await Promise.all(
    endpoints.map(
      async (endpoint): Promise<[string, EndpointHealthJson]> => [
        endpoint.name,
        await endpointEntry(env, endpoint, regionsOf.get(endpoint.name) ?? [null], now),
      ],
    ),
  );
  await addKeyHealth(env, endpoints, entries, now, regionsOf);
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

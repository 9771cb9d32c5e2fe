/**
 * `TargetHealth` Durable Object: one per endpoint (`idFromName(endpoint.name)`), SQLite-backed.
 * Holds per-target outcome statistics, outlier-ejection and rate-limit state (DESIGN §3), and, in
 * the one instance named `SESSIONS_OBJECT_NAME`, the session counters of `/health`.
 *
 * A thin entry point: every decision is made by the pure modules `health-policy.ts` and
 * `health-stats.ts`. Time comes from the caller (`at` of each outcome, `now` of each call), which
 * keeps the object deterministic under a fake clock in tests; it defaults to `Date.now()`.
 * Records are written to SQLite on every change and read back in the constructor, so the state
 * survives eviction and restarts.
 *
 * The sessions object also keeps the registry of endpoints that have seen traffic: an endpoint's
 * object registers itself there once, on its first reported outcome, so `/health` can list the
 * endpoints in use without waking one object per configured preset.
 */
import { DurableObject } from "cloudflare:workers";
import {
  applyOutcomes,
  claimProbe,
  type HealthPolicy,
  type Outcome,
  type TargetRecord,
} from "./health-policy";
import { type CounterDeltas, SESSIONS_OBJECT_NAME } from "./session-counters";

interface RegistryEnv {
  TARGET_HEALTH: DurableObjectNamespace<TargetHealth>;
}

export interface SyncRequest {
  /** The endpoint's configured target URLs (the ejection cap depends on their number). */
  targets: string[];
  policy: HealthPolicy;
  /** Outcomes not yet reported, in the order they happened. */
  outcomes: Outcome[];
  /** Claim the probe of this (probing) target for the caller. */
  claimProbe?: string;
  now?: number;
  /** The endpoint's name: with outcomes, the object registers the endpoint as in use (once). */
  endpoint?: string;
}

export interface SyncResponse {
  records: Record<string, TargetRecord>;
  /** True when `claimProbe` was granted: the caller sends the one probe request. */
  probeClaimed: boolean;
}

export class TargetHealth extends DurableObject<RegistryEnv> {
  #records: Record<string, TargetRecord> = {};
  #registered: boolean;

  constructor(ctx: DurableObjectState, env: RegistryEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS targets (url TEXT PRIMARY KEY, record TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS session_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS endpoints (name TEXT PRIMARY KEY)");
    this.#registered = ctx.storage.kv.get("registered") === true;
    for (const row of sql.exec<{ url: string; record: string }>("SELECT url, record FROM targets")) {
      try {
        this.#records[row.url] = JSON.parse(row.record) as TargetRecord;
      } catch {
        // A record that cannot be read is dropped: the target starts over as healthy.
      }
    }
  }

  /** Records outcomes, optionally claims a probe, and returns the endpoint's current records. */
  async sync(request: SyncRequest): Promise<SyncResponse> {
    if (request.endpoint !== undefined && request.outcomes.length > 0 && !this.#registered) {
      await this.#register(request.endpoint);
    }
    const changed = applyOutcomes(this.#records, request.outcomes, request.policy, request.targets);
    let probeClaimed = false;
    if (request.claimProbe !== undefined) {
      const record = this.#records[request.claimProbe];
      if (record && claimProbe(record, request.now ?? Date.now(), request.policy)) {
        probeClaimed = true;
        changed.add(request.claimProbe);
      }
    }
    for (const url of changed) {
      this.ctx.storage.sql.exec(
        "INSERT OR REPLACE INTO targets (url, record) VALUES (?, ?)",
        url,
        JSON.stringify(this.#records[url]),
      );
    }
    return { records: this.#records, probeClaimed };
  }

  async #register(endpoint: string): Promise<void> {
    const ns = this.env.TARGET_HEALTH;
    try {
      await ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).registerEndpoint(endpoint);
      this.#registered = true;
      this.ctx.storage.kv.put("registered", true);
    } catch {
      // Only the /health listing depends on it: the next sync with outcomes tries again.
    }
  }

  /** Sessions object: notes an endpoint that has seen traffic. */
  async registerEndpoint(name: string): Promise<void> {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO endpoints (name) VALUES (?)", name);
  }

  /** Sessions object: the endpoints that have seen traffic, by name. */
  async registeredEndpoints(): Promise<string[]> {
    return [...this.ctx.storage.sql.exec<{ name: string }>("SELECT name FROM endpoints ORDER BY name")].map(
      (row) => row.name,
    );
  }

  /** The endpoint's records, keyed by target URL (targets never reported are absent). */
  async snapshot(): Promise<Record<string, TargetRecord>> {
    return this.#records;
  }

  /** Adds counter deltas (see `session-counters.ts`). */
  async addSessionCounters(deltas: CounterDeltas): Promise<void> {
    for (const [name, delta] of Object.entries(deltas)) {
      if (!Number.isFinite(delta) || delta === 0) continue;
      this.ctx.storage.sql.exec(
        "INSERT INTO session_counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        name,
        Math.trunc(delta),
      );
    }
  }

  /** Current counter values keyed `<group>.<counter>`. */
  async sessionCounters(): Promise<CounterDeltas> {
    const out: CounterDeltas = {};
    for (const row of this.ctx.storage.sql.exec<{ name: string; value: number }>(
      "SELECT name, value FROM session_counters",
    )) {
      out[row.name] = row.value;
    }
    return out;
  }
}

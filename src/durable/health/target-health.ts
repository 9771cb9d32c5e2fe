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
 * The sessions object also keeps the registry of endpoints that have seen traffic, so `/health` can
 * list the endpoints in use without waking one object per configured preset: an endpoint's object
 * registers itself there on its first reported outcome and again at most every
 * `REGISTRY_REFRESH_MS` while it has traffic. An entry not refreshed for `REGISTRY_TTL_MS` expires:
 * an alarm deletes it, and the listing never shows it.
 */
import { DurableObject } from "cloudflare:workers";
import type { KeyOutcome, KeyRecord } from "../../keys/key-state";
import {
  applyOutcomes,
  claimProbe,
  type HealthPolicy,
  type Outcome,
  type TargetRecord,
} from "./health-policy";
import { KeyRecordStore } from "./key-records";
import { type CounterDeltas, SESSIONS_OBJECT_NAME } from "./session-counters";

/** An endpoint without traffic for this long leaves the registry (and the default `/health` listing). */
export const REGISTRY_TTL_MS = 7 * 24 * 60 * 60_000;
/** An endpoint with traffic renews its registry entry at most this often. */
export const REGISTRY_REFRESH_MS = 60 * 60_000;
/** Storage key (sessions object) of the time the registry's expiry alarm was set for. */
const REGISTRY_ALARM_KEY = "registry_alarm_at";

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
  /** Key-pool outcomes not yet reported (issue 14), in order. */
  keyOutcomes?: KeyOutcome[];
}

export interface SyncResponse {
  records: Record<string, TargetRecord>;
  /** True when `claimProbe` was granted: the caller sends the one probe request. */
  probeClaimed: boolean;
  /** The endpoint's key-pool records by fingerprint (issue 14). */
  keys?: Record<string, KeyRecord>;
}

export class TargetHealth extends DurableObject<RegistryEnv> {
  #records: Record<string, TargetRecord> = {};
  readonly #keys: KeyRecordStore;
  /** When this endpoint's object last registered the endpoint (null: not yet). */
  #registeredAt: number | null;

  constructor(ctx: DurableObjectState, env: RegistryEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS targets (url TEXT PRIMARY KEY, record TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS session_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    this.#keys = new KeyRecordStore(sql);
    // The first version kept a flag that never renewed: registering again with a time replaces it.
    if (ctx.storage.kv.get("registered") !== undefined) ctx.storage.kv.delete("registered");
    const registeredAt = ctx.storage.kv.get("registered_at");
    this.#registeredAt = typeof registeredAt === "number" ? registeredAt : null;
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
    const now = request.now ?? Date.now();
    if (request.endpoint !== undefined && request.outcomes.length > 0 && this.#registrationDue(now)) {
      await this.#register(request.endpoint, now);
    }
    const changed = applyOutcomes(this.#records, request.outcomes, request.policy, request.targets);
    let probeClaimed = false;
    if (request.claimProbe !== undefined) {
      const record = this.#records[request.claimProbe];
      if (record && claimProbe(record, now, request.policy)) {
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
    return { records: this.#records, probeClaimed, keys: this.#keys.apply(request.keyOutcomes) };
  }

  #registrationDue(now: number): boolean {
    // A clock that went backwards (a caller's `now`) renews too, rather than never.
    return this.#registeredAt === null || Math.abs(now - this.#registeredAt) >= REGISTRY_REFRESH_MS;
  }

  async #register(endpoint: string, now: number): Promise<void> {
    const ns = this.env.TARGET_HEALTH;
    try {
      await ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).registerEndpoint(endpoint, now);
      this.#registeredAt = now;
      this.ctx.storage.kv.put("registered_at", now);
    } catch {
      // Only the /health listing depends on it: the next sync with outcomes tries again.
    }
  }

  /** Sessions object: the registry table, created on first use (migrating the first version's table). */
  #registry(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS endpoint_registry (name TEXT PRIMARY KEY, last_seen INTEGER NOT NULL)",
    );
    const legacy = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'endpoints'");
    if (legacy.toArray().length > 0) {
      // Entries of the first version had no time: they count as seen now, so they expire like the others.
      sql.exec(
        "INSERT OR IGNORE INTO endpoint_registry (name, last_seen) SELECT name, ? FROM endpoints",
        Date.now(),
      );
      sql.exec("DROP TABLE endpoints");
    }
    return sql;
  }

  /** Sessions object: notes that an endpoint has seen traffic at `now` and makes sure the entry has a deadline. */
  async registerEndpoint(name: string, now: number = Date.now()): Promise<void> {
    this.#registry().exec(
      "INSERT INTO endpoint_registry (name, last_seen) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
      name,
      now,
    );
    await this.#scheduleRegistryExpiry();
  }

  /** Sessions object: the endpoints seen within `REGISTRY_TTL_MS` of `now`, by name (expired ones are deleted). */
  async registeredEndpoints(now: number = Date.now()): Promise<string[]> {
    const sql = this.#registry();
    sql.exec("DELETE FROM endpoint_registry WHERE last_seen <= ?", now - REGISTRY_TTL_MS);
    return [...sql.exec<{ name: string }>("SELECT name FROM endpoint_registry ORDER BY name")].map(
      (row) => row.name,
    );
  }

  /**
   * The registry's expiry: deletes the entries due by the time this alarm was set for (or by now, if later), then
   * schedules the next one. Only the sessions object ever sets an alarm.
   */
  override async alarm(): Promise<void> {
    const scheduled = this.ctx.storage.kv.get(REGISTRY_ALARM_KEY);
    const due = Math.max(Date.now(), typeof scheduled === "number" ? scheduled : 0);
    this.ctx.storage.kv.delete(REGISTRY_ALARM_KEY);
    await this.registeredEndpoints(due);
    await this.#scheduleRegistryExpiry();
  }

  /** Sets the alarm for the oldest entry's expiry (none when the registry is empty). */
  async #scheduleRegistryExpiry(): Promise<void> {
    const oldest = this.#registry()
      .exec<{ t: number | null }>("SELECT min(last_seen) AS t FROM endpoint_registry")
      .one().t;
    if (oldest === null) {
      this.ctx.storage.kv.delete(REGISTRY_ALARM_KEY);
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = oldest + REGISTRY_TTL_MS;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= at) return;
    this.ctx.storage.kv.put(REGISTRY_ALARM_KEY, at);
    await this.ctx.storage.setAlarm(at);
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

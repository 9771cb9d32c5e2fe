/**
 * `TargetHealth` Durable Object: one per endpoint (`idFromName(endpoint.name)`), or per endpoint and region
 * (`idFromName("<endpoint>#<region>")`, see `health-shards.ts`), SQLite-backed.
 * Holds per-target outcome statistics, outlier-ejection and rate-limit state (DESIGN §3), and, in
 * the one instance named `SESSIONS_OBJECT_NAME`, the session counters of `/health`.
 *
 * A thin entry point: every decision is made by the pure modules `health-policy.ts` and
 * `health-stats.ts`. Time comes from the caller (`at` of each outcome, `now` of each call), which
 * keeps the object deterministic under a fake clock in tests; it defaults to `Date.now()`.
 * Records are read back from SQLite in the constructor, so the state survives eviction and restarts.
 * A change that alters a decision (ejection, return to service, rate-limit or key cool-down, probe
 * claim, `failing`) is written at once; a change of routine statistics only marks the record dirty,
 * and dirty records are written by an alarm at most `STATS_FLUSH_INTERVAL_MS` later
 * (`write-behind.ts`): a crash loses at most that much of the statistics, never a decision.
 *
 * The sessions object also keeps the registry of endpoints that have seen traffic, so `/health` can
 * list the endpoints in use without waking one object per configured preset: an endpoint's object
 * registers itself there on its first reported outcome and again at most every
 * `REGISTRY_REFRESH_MS` while it has traffic. An entry not refreshed for `REGISTRY_TTL_MS` expires:
 * an alarm deletes it, and the listing never shows it. One alarm serves both jobs: it is set for the
 * earlier of the two due times, and each run does whichever is due.
 */
import { DurableObject } from "cloudflare:workers";
import type { KeyOutcome, KeyRecord } from "../../keys/key-state";
import { claimProbe, type HealthPolicy, type Outcome, type TargetRecord } from "./health-policy";
import { shardName } from "./health-shards";
import { KeyRecordStore } from "./key-records";
import { type CounterDeltas, SESSIONS_OBJECT_NAME } from "./session-counters";
import { applyOutcomesClassified } from "./write-behind";

/** An endpoint without traffic for this long leaves the registry (and the default `/health` listing). */
export const REGISTRY_TTL_MS = 7 * 24 * 60 * 60_000;
/** An endpoint with traffic renews its registry entry at most this often. */
export const REGISTRY_REFRESH_MS = 60 * 60_000;
/** Storage key (sessions object) of the time the registry's expiry alarm was set for. */
const REGISTRY_ALARM_KEY = "registry_alarm_at";
/** Routine statistics reach SQLite at most this long after they changed (a crash loses at most this much). */
export const STATS_FLUSH_INTERVAL_MS = 1_000;
/** Storage key of the time the statistics flush was scheduled for (so a shared alarm knows what is due). */
const STATS_ALARM_KEY = "stats_alarm_at";

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
  /** The region of this shard (`health-shards.ts`): it registers as `<endpoint>#<region>`. Absent: unsharded. */
  region?: string;
  /**
   * Write every changed record at once instead of writing routine statistics behind (bench only:
   * `bench/scale-sim.mjs` measures the object both ways in one run).
   */
  writeThrough?: boolean;
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
  /** Targets whose routine statistics changed since their last write (`STATS_FLUSH_INTERVAL_MS`). */
  readonly #dirty = new Set<string>();
  /** True while a statistics flush is scheduled in this instance's lifetime. */
  #flushScheduled = false;

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
      await this.#register(shardName(request.endpoint, request.region ?? null), now);
    }
    const { changed, decisive } = applyOutcomesClassified(
      this.#records,
      request.outcomes,
      request.policy,
      request.targets,
    );
    let probeClaimed = false;
    if (request.claimProbe !== undefined) {
      const record = this.#records[request.claimProbe];
      if (record && claimProbe(record, now, request.policy)) {
        probeClaimed = true;
        changed.add(request.claimProbe);
        decisive.add(request.claimProbe);
      }
    }
    const writeThrough = request.writeThrough === true;
    for (const url of changed) {
      if (writeThrough || decisive.has(url)) this.#writeTarget(url);
      else this.#dirty.add(url);
    }
    const keys = this.#keys.apply(request.keyOutcomes, writeThrough);
    if (this.#dirty.size > 0 || this.#keys.dirty) await this.#scheduleFlush();
    return { records: this.#records, probeClaimed, keys };
  }

  #writeTarget(url: string): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO targets (url, record) VALUES (?, ?)",
      url,
      JSON.stringify(this.#records[url]),
    );
    this.#dirty.delete(url);
  }

  /** Writes every dirty record (targets and keys). */
  #flushStats(): void {
    for (const url of this.#dirty) this.#writeTarget(url);
    this.#keys.flush();
    this.#flushScheduled = false;
  }

  /** Makes sure a flush is due within `STATS_FLUSH_INTERVAL_MS` (one alarm write per interval at most). */
  async #scheduleFlush(): Promise<void> {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const at = Date.now() + STATS_FLUSH_INTERVAL_MS;
    this.ctx.storage.kv.put(STATS_ALARM_KEY, at);
    await this.#armAlarm(at);
  }

  /** Sets the alarm to `at` unless it is already set earlier. */
  async #armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
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

  /**
   * Sessions object: notes that an endpoint (or one of its regional shards, `<endpoint>#<region>`) has seen traffic
   * at `now` and makes sure the entry has a deadline.
   */
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
   * The one alarm of the object. It ran for the earlier of the two due times it serves (or now, if later): the
   * statistics flush (any object with dirty records) and the registry's expiry (the sessions object). Each job whose
   * time has come runs (the expiry deletes the entries due by its time, then schedules the next one); a job not yet
   * due gets the alarm again. An alarm set before the flush existed has no flush time and is the registry's.
   */
  override async alarm(): Promise<void> {
    const kv = this.ctx.storage.kv;
    const stats = kv.get(STATS_ALARM_KEY);
    const registry = kv.get(REGISTRY_ALARM_KEY);
    const statsAt = typeof stats === "number" ? stats : null;
    const registryAt = typeof registry === "number" ? registry : statsAt === null ? 0 : null;
    const ranFor = Math.max(Date.now(), Math.min(statsAt ?? Infinity, registryAt ?? Infinity));
    // Whatever is dirty is written now (records dirtied after an earlier flush included).
    kv.delete(STATS_ALARM_KEY);
    this.#flushStats();
    if (registryAt === null) return;
    if (registryAt <= ranFor) {
      kv.delete(REGISTRY_ALARM_KEY);
      await this.registeredEndpoints(Math.max(Date.now(), registryAt));
      await this.#scheduleRegistryExpiry();
    } else {
      await this.#armAlarm(registryAt);
    }
  }

  /** Sets the alarm for the oldest entry's expiry (none when the registry is empty and no flush waits). */
  async #scheduleRegistryExpiry(): Promise<void> {
    const oldest = this.#registry()
      .exec<{ t: number | null }>("SELECT min(last_seen) AS t FROM endpoint_registry")
      .one().t;
    const kv = this.ctx.storage.kv;
    if (oldest === null) {
      kv.delete(REGISTRY_ALARM_KEY);
      if (kv.get(STATS_ALARM_KEY) === undefined) await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = oldest + REGISTRY_TTL_MS;
    if (kv.get(REGISTRY_ALARM_KEY) !== at) kv.put(REGISTRY_ALARM_KEY, at);
    await this.#armAlarm(at);
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

/**
 * `TargetHealth` Durable Object: one per endpoint (`idFromName(endpoint.name)`), SQLite-backed.
 * Holds per-target outcome statistics, outlier-ejection and rate-limit state (DESIGN §3), and, in
 * the one instance named `SESSIONS_OBJECT_NAME`, the session counters of `/health`.
 *
 * A thin entry point: every decision is made by the pure modules `health-policy.ts` and
 * `health-stats.ts`. Time comes from the caller (`at` of each outcome, `now` of each call), which
 * keeps the object deterministic under a fake clock in tests; it defaults to `Date.now()`.
 */
import { DurableObject } from "cloudflare:workers";
import type { CounterDeltas } from "./session-counters";

export class TargetHealth extends DurableObject<unknown> {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS session_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    );
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

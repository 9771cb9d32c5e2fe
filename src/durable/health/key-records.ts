/**
 * The per-key records of one endpoint's `TargetHealth` object (issue 14), kept in its SQLite
 * storage next to the target records: loaded once, updated by the outcomes each sync carries,
 * written back per changed key. Decisions are the pure `src/keys/key-state.ts`.
 */
import { applyKeyOutcomes, type KeyOutcome, type KeyRecord } from "../../keys/key-state";

export class KeyRecordStore {
  readonly #sql: SqlStorage;
  readonly #records: Record<string, KeyRecord> = {};

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS key_records (fingerprint TEXT PRIMARY KEY, record TEXT NOT NULL)");
    for (const row of sql.exec<{ fingerprint: string; record: string }>(
      "SELECT fingerprint, record FROM key_records",
    )) {
      try {
        this.#records[row.fingerprint] = JSON.parse(row.record) as KeyRecord;
      } catch {
        // An unreadable record is dropped: the key starts over as ok.
      }
    }
  }

  /** Applies the outcomes in order, persists the changed records, and returns every record. */
  apply(outcomes: readonly KeyOutcome[] | undefined): Record<string, KeyRecord> {
    if (outcomes && outcomes.length > 0) {
      for (const fingerprint of applyKeyOutcomes(this.#records, outcomes)) {
        this.#sql.exec(
          "INSERT OR REPLACE INTO key_records (fingerprint, record) VALUES (?, ?)",
          fingerprint,
          JSON.stringify(this.#records[fingerprint]),
        );
      }
    }
    return this.#records;
  }
}

/**
 * The per-key records of one endpoint's `TargetHealth` object (issue 14), kept in its SQLite
 * storage next to the target records: loaded once, updated by the outcomes each sync carries.
 * A key whose cool-down or invalid mark changed is written at once; one whose only change is its
 * counters is written with the object's next statistics flush (`write-behind.ts`). Decisions are
 * the pure `src/keys/key-state.ts`.
 */
import type { KeyOutcome, KeyRecord } from "../../keys/key-state";
import { applyKeyOutcomesClassified } from "./write-behind";

export class KeyRecordStore {
  readonly #sql: SqlStorage;
  readonly #records: Record<string, KeyRecord> = {};
  /** Keys changed since their last write, written by `flush()`. */
  readonly #dirty = new Set<string>();

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

  /**
   * Applies the outcomes in order, writes the keys whose decision changed (every changed key with
   * `writeThrough`), marks the others dirty, and returns every record.
   */
  apply(outcomes: readonly KeyOutcome[] | undefined, writeThrough = false): Record<string, KeyRecord> {
    if (outcomes && outcomes.length > 0) {
      const { changed, decisive } = applyKeyOutcomesClassified(this.#records, outcomes);
      for (const fingerprint of changed) {
        if (writeThrough || decisive.has(fingerprint)) this.#write(fingerprint);
        else this.#dirty.add(fingerprint);
      }
    }
    return this.#records;
  }

  /** Whether some key waits for `flush()`. */
  get dirty(): boolean {
    return this.#dirty.size > 0;
  }

  /** Writes every dirty key. */
  flush(): void {
    for (const fingerprint of this.#dirty) this.#write(fingerprint);
  }

  #write(fingerprint: string): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO key_records (fingerprint, record) VALUES (?, ?)",
      fingerprint,
      JSON.stringify(this.#records[fingerprint]),
    );
    this.#dirty.delete(fingerprint);
  }
}

/**
 * The events a session object has emitted, for Gemini sessions (`GeminiEventLog`: Gemini chunks) and stream repair
 * sessions (`StreamEventLog`: encoded SSE events) alike: kept in memory for the attached readers and in SQLite, so a
 * re-attach (even after the object was evicted) receives exactly the events it is missing. Event `n` is the n-th
 * client event (0-based); `from = n` means "I have received n events".
 */
export interface SessionEnd {
  /** `complete`, `max_tokens`, `blocked`, `failed`, `aborted`, `http_error`. */
  result: string;
}

export interface EventCodec<T> {
  encode(event: T): string;
  decode(stored: string): T;
  /** The final event of a session whose object stopped mid-generation: an explicit failure, never a clean end. */
  interrupted(why: string): T;
}

export class SessionEventLog<T> {
  /** Whether this object ever stored a session (checked without creating the tables). */
  static exists(sql: SqlStorage): boolean {
    return (
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0
    );
  }

  readonly #sql: SqlStorage;
  readonly #codec: EventCodec<T>;
  readonly #events: T[] = [];
  #end: SessionEnd | null = null;
  #waiters: (() => void)[] = [];

  constructor(sql: SqlStorage, codec: EventCodec<T>) {
    this.#sql = sql;
    this.#codec = codec;
    sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    for (const row of sql.exec<{ data: string }>("SELECT data FROM events ORDER BY seq")) {
      this.#events.push(codec.decode(row.data));
    }
    const end = this.getMeta("end");
    if (end !== null) this.#end = JSON.parse(end) as SessionEnd;
    else if (this.getMeta("format") !== null) {
      // The object was evicted mid-generation: the engine is gone. The log ends with an explicit failure so a
      // re-attaching client never mistakes it for a clean end.
      if (this.#events.length > 0) this.append(codec.interrupted("the session was interrupted"));
      this.finish({ result: "aborted" });
    }
  }

  get length(): number {
    return this.#events.length;
  }

  get end(): SessionEnd | null {
    return this.#end;
  }

  at(index: number): T | undefined {
    return this.#events[index];
  }

  all(): readonly T[] {
    return this.#events;
  }

  append(event: T): void {
    this.#sql.exec(
      "INSERT INTO events (seq, data) VALUES (?, ?)",
      this.#events.length,
      this.#codec.encode(event),
    );
    this.#events.push(event);
    this.#wake();
  }

  finish(end: SessionEnd): void {
    this.setMeta("end", JSON.stringify(end));
    this.#end = end;
    this.#wake();
  }

  /**
   * Ends a log whose engine failed unexpectedly: after events already given to clients, the format's explicit final
   * error comes first, so no client (live or re-attaching) mistakes the cut for a clean end. A log that already ended
   * is left as it is.
   */
  fail(why: string): void {
    if (this.#end !== null) return;
    if (this.#events.length > 0) this.append(this.#codec.interrupted(why));
    this.finish({ result: "failed" });
  }

  /** Resolves when an event is appended or the log ends. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  getMeta(key: string): string | null {
    const row = this.#sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray()[0];
    return row?.v ?? null;
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", key, value);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

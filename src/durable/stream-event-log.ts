/**
 * The client events a `StreamSession` has emitted (complete SSE events, as the client receives them), kept in memory
 * for the attached readers and in SQLite so a re-attach (even after the object was evicted) receives exactly the
 * events it is missing. Event `n` is the n-th client event (0-based); `from = n` means "I have received n events".
 * Same contract as `GeminiEventLog`, for events that are already encoded.
 */
export interface StreamSessionEnd {
  /** `complete`, `max_tokens`, `blocked`, `failed`, `aborted`, `http_error`. */
  result: string;
}

export class StreamEventLog {
  /** Whether this object ever stored a session (checked without creating the tables). */
  static exists(sql: SqlStorage): boolean {
    return (
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0
    );
  }

  readonly #sql: SqlStorage;
  readonly #events: string[] = [];
  #end: StreamSessionEnd | null = null;
  #waiters: (() => void)[] = [];

  /** `interrupted(why)`: the final error event of a session whose object stopped mid-generation. */
  constructor(sql: SqlStorage, interrupted: (why: string) => string) {
    this.#sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    for (const row of sql.exec<{ data: string }>("SELECT data FROM events ORDER BY seq"))
      this.#events.push(row.data);
    const end = this.getMeta("end");
    if (end !== null) this.#end = JSON.parse(end) as StreamSessionEnd;
    else if (this.getMeta("format") !== null) {
      // The engine is gone: the log ends with an explicit failure, never a silent clean end.
      if (this.#events.length > 0) this.append(interrupted("the session was interrupted"));
      this.finish({ result: "aborted" });
    }
  }

  get length(): number {
    return this.#events.length;
  }

  get end(): StreamSessionEnd | null {
    return this.#end;
  }

  at(index: number): string | undefined {
    return this.#events[index];
  }

  append(event: string): void {
    this.#sql.exec("INSERT INTO events (seq, data) VALUES (?, ?)", this.#events.length, event);
    this.#events.push(event);
    this.#wake();
  }

  finish(end: StreamSessionEnd): void {
    this.setMeta("end", JSON.stringify(end));
    this.#end = end;
    this.#wake();
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

const enc = new TextEncoder();
/** One `pull()` stops adding events past this many UTF-16 units (see `gemini-client-stream.ts` for why it batches). */
const MAX_CHUNK_CHARS = 16 * 1024;

/** A client body reading the log from event `from`: every event the log holds past the cursor per pull. */
export function streamClientBody(
  log: Pick<StreamEventLog, "length" | "end" | "at" | "changed">,
  from: number,
  onDetach: () => void,
): ReadableStream<Uint8Array> {
  let cursor = Math.max(0, from);
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let text = "";
        for (let event = log.at(cursor); event !== undefined; event = log.at(cursor)) {
          text += event;
          cursor++;
          if (text.length >= MAX_CHUNK_CHARS) break;
        }
        const ended = log.end !== null && log.at(cursor) === undefined;
        if (text !== "") controller.enqueue(enc.encode(text));
        if (ended) {
          finished = true;
          controller.close();
          onDetach();
          return;
        }
        if (text !== "") return;
        await log.changed();
      }
    },
    cancel() {
      if (!finished) onDetach();
    },
  });
}

/**
 * Both ends of the hand-over (`handover-lines.ts`): the object's `/events` body, which serves its log from event `k`
 * as lines after checking the Worker's digest, and the Worker's in-memory log, which its client body reads
 * (`clientBody`, the same encoder the object uses) and which the Worker's engine and then the object's lines fill.
 */
import type { GenerateContentResponse } from "../../gemini/types";
import type { SessionEnd } from "../session-event-log";
import type { ClientLogView } from "./gemini-client-stream";
import { abortedChunk } from "./gemini-event-log";
import { digestOf, encodeLine, type HandoverLine } from "./handover-lines";

/** The HTTP error a session ended with before any event, if any. */
export type StoredHttpError = () => { status: number; headers: [string, string][]; body: string } | null;

export interface HandoverBodyOptions {
  from: number;
  /** The Worker's digest of the events it delivered (`EventDigest.value`); null: no check (event 0, nothing sent). */
  digest: string | null;
  onCancel(): void;
  onDone(): void;
}

const enc = new TextEncoder();
/** Lines per pull, at most about this many UTF-16 units (as `clientBody` batches). */
const MAX_CHUNK_CHARS = 16 * 1024;

/**
 * The object's `/events` answer: once its log holds `from` events (or ended), the digest of those is compared with
 * the Worker's; a mismatch ends the stream with an explicit interruption (the client then sees the format's error,
 * never a duplicated or missing piece). Then every event from `from` on as it comes, and the end.
 */
export function handoverBody(
  log: ClientLogView,
  httpError: StoredHttpError,
  opts: HandoverBodyOptions,
): ReadableStream<Uint8Array> {
  let cursor = opts.from;
  let checked = opts.digest === null;
  let finished = false;
  const close = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    if (text !== "") controller.enqueue(enc.encode(text));
    finished = true;
    controller.close();
    opts.onDone();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!checked) {
          if (log.length < opts.from && log.end === null) {
            await log.changed();
            continue;
          }
          checked = true;
          if (digestOf(log.all(), opts.from) !== opts.digest) {
            console.error(JSON.stringify({ msg: "gemini_handover_mismatch", from: opts.from }));
            const why = "the session's log does not match the events already delivered";
            return close(
              controller,
              encodeLine({ e: abortedChunk(why) }) + encodeLine({ end: { result: "failed" } }),
            );
          }
        }
        let text = "";
        for (let ev = log.at(cursor); ev !== undefined; ev = log.at(cursor)) {
          text += encodeLine({ e: ev as GenerateContentResponse });
          cursor++;
          if (text.length >= MAX_CHUNK_CHARS) break;
        }
        const end = log.end;
        if (end !== null && log.at(cursor) === undefined) {
          const error = end.result === "http_error" && opts.from === 0 ? httpError() : null;
          const last: HandoverLine = error !== null ? { http_error: error } : { end: { result: end.result } };
          return close(controller, text + encodeLine(last));
        }
        if (text !== "") return controller.enqueue(enc.encode(text));
        await log.changed();
      }
    },
    cancel() {
      if (!finished) opts.onCancel();
    },
  });
}

/** The Worker's copy of the events it serves: a `ClientLogView` in memory, for one client body. */
export class MemoryEventLog implements ClientLogView {
  readonly #events: GenerateContentResponse[] = [];
  #end: SessionEnd | null = null;
  #waiters: (() => void)[] = [];

  get length(): number {
    return this.#events.length;
  }

  get end(): SessionEnd | null {
    return this.#end;
  }

  at(index: number): GenerateContentResponse | undefined {
    return this.#events[index];
  }

  all(): readonly GenerateContentResponse[] {
    return this.#events;
  }

  append(event: GenerateContentResponse): void {
    if (this.#end !== null) return;
    this.#events.push(event);
    this.#wake();
  }

  finish(end: SessionEnd): void {
    if (this.#end !== null) return;
    this.#end = end;
    this.#wake();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

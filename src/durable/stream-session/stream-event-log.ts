import { SessionEventLog } from "../session-event-log";

export type { SessionEnd as StreamSessionEnd } from "../session-event-log";

/** A stream repair session's event log (`session-event-log.ts`): complete SSE events, as the client receives them. */
export class StreamEventLog extends SessionEventLog<string> {
  /** `interrupted(why)`: the format's final error event for a session whose object stopped mid-generation. */
  constructor(sql: SqlStorage, interrupted: (why: string) => string) {
    super(sql, { encode: (event) => event, decode: (stored) => stored, interrupted });
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

import {
  aggregateResponse,
  closeJsonArray,
  encodeJsonArrayElement,
  encodeOpenAIChunk,
  encodeSseEvent,
  OPENAI_DONE,
  type OpenAIStreamMeta,
} from "../../gemini/encoders";
import type { GeminiEventLog } from "./gemini-event-log";

/** The client's format, from the route it called (`routes.ts`). */
export type ClientFormat = "sse" | "json_array" | "generate" | "openai";

export const CONTENT_TYPES: Record<ClientFormat, string> = {
  sse: "text/event-stream",
  json_array: "application/json; charset=UTF-8",
  generate: "application/json; charset=UTF-8",
  openai: "text/event-stream",
};

export interface ClientStreamOptions {
  format: ClientFormat;
  /** Events the client already has. */
  from: number;
  openai?: OpenAIStreamMeta;
  /** The client went away (its body was cancelled). */
  onCancel(): void;
  /** The body was delivered completely. */
  onDone(): void;
}

const enc = new TextEncoder();

/**
 * One `pull()` stops adding events once its chunk reaches this many UTF-16 units (≤ 48 KiB of UTF-8, plus one
 * event): a reader behind the log catches up in one round trip per chunk rather than one per event.
 */
export const MAX_CHUNK_CHARS = 16 * 1024;

/** What a client body reads from the session's event log (`GeminiEventLog`). */
export type ClientLogView = Pick<GeminiEventLog, "length" | "end" | "at" | "all" | "changed">;

/**
 * A client body reading the session's event log from `from`. Each `pull()` delivers every event the log holds past
 * the cursor (up to `MAX_CHUNK_CHARS`) as one chunk, and the format's closing bytes with the last ones once the log
 * has ended; it waits on the log only when it has caught up. One event per pull would make delivery cost one round
 * trip per event through three lockstep streams (this body, the `/start` framing, the Worker's unframing, each with
 * a queue of one chunk), and under load (soak: 200 concurrent sessions, ~100–400 ms per round trip) a client that
 * fell behind a fast upstream needed minutes for an answer of ~200 small events the session had long finished.
 * A JSON array re-attached from `n` is a complete array of the events from `n`.
 */
export function clientBody(log: ClientLogView, opts: ClientStreamOptions): ReadableStream<Uint8Array> {
  let cursor = Math.max(0, opts.from);
  let written = 0;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (opts.format === "generate") {
          if (log.end === null) {
            await log.changed();
            continue;
          }
          const body = log.length > 0 ? aggregateResponse(log.all().slice(cursor)) : {};
          controller.enqueue(enc.encode(JSON.stringify(body)));
          return close(controller);
        }
        let text = "";
        for (let chunk = log.at(cursor); chunk !== undefined; chunk = log.at(cursor)) {
          text += encodeEvent(opts, chunk, cursor, written);
          cursor++;
          written++;
          if (text.length >= MAX_CHUNK_CHARS) break;
        }
        const ended = log.end !== null && log.at(cursor) === undefined;
        if (ended) text += closingText(opts.format, log.end?.result ?? "", written);
        if (text !== "") controller.enqueue(enc.encode(text));
        if (ended) return close(controller);
        if (text !== "") return;
        await log.changed();
      }
    },
    cancel() {
      if (!finished) opts.onCancel();
    },
  });

  function close(controller: ReadableStreamDefaultController<Uint8Array>): void {
    finished = true;
    controller.close();
    opts.onDone();
  }
}

/** The bytes after the last event: the array's `]`, OpenAI's `[DONE]` after a clean end. */
function closingText(format: ClientFormat, result: string, written: number): string {
  if (format === "json_array") return closeJsonArray(written);
  const ok = result === "complete" || result === "max_tokens" || result === "blocked";
  return format === "openai" && ok ? OPENAI_DONE : "";
}

function encodeEvent(
  opts: ClientStreamOptions,
  chunk: Parameters<typeof encodeSseEvent>[0],
  index: number,
  written: number,
): string {
  switch (opts.format) {
    case "sse":
      return encodeSseEvent(chunk);
    case "json_array":
      return encodeJsonArrayElement(chunk, written);
    case "openai":
      return encodeOpenAIChunk(
        chunk as never,
        index,
        opts.openai ?? { id: "chatcmpl-gateway", created: 0, model: "" },
      );
    default:
      return "";
  }
}

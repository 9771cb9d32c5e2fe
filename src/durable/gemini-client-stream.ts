import {
  aggregateResponse,
  closeJsonArray,
  encodeJsonArrayElement,
  encodeOpenAIChunk,
  encodeSseEvent,
  OPENAI_DONE,
  type OpenAIStreamMeta,
} from "../gemini/encoders";
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
 * A client body reading the session's event log from `from`: each stored event becomes one client event as soon as
 * it exists (pull-based, so a slow client applies backpressure to nothing but this reader). The format's closing
 * bytes come when the log ends. A JSON array re-attached from `n` is a complete array of the events from `n`.
 */
export function clientBody(log: GeminiEventLog, opts: ClientStreamOptions): ReadableStream<Uint8Array> {
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
        const chunk = log.at(cursor);
        if (chunk !== undefined) {
          controller.enqueue(enc.encode(encodeEvent(opts, chunk, cursor, written)));
          cursor++;
          written++;
          return;
        }
        if (log.end !== null) {
          if (opts.format === "json_array") controller.enqueue(enc.encode(closeJsonArray(written)));
          const ok =
            log.end.result === "complete" || log.end.result === "max_tokens" || log.end.result === "blocked";
          if (opts.format === "openai" && ok) controller.enqueue(enc.encode(OPENAI_DONE));
          return close(controller);
        }
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

import { readRepairAttempt } from "../stream/repair-reader";
import type { EngineClock } from "./engine-types";
import type { StreamEnd } from "./outcome";
import type { GenerateContentResponse, GoogleErrorBody } from "./types";

export type AttemptItem =
  | { type: "chunk"; chunk: GenerateContentResponse }
  | { type: "error"; error: GoogleErrorBody };

export interface ReadOptions {
  clock: EngineClock;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  /** Absolute clock time the whole generation must end by. */
  deadlineAt: number;
  signal: AbortSignal;
}

/**
 * Reads one attempt's SSE body as Gemini chunks and in-stream errors. The bounds (first event, idle, deadline) and
 * the reading itself are the format-independent reader's (`src/stream/repair-reader.ts`); this turns its events into
 * Gemini items. The generator's return value says how the stream ended; a payload that is not JSON ends it as a
 * read error, and an in-stream error ends it.
 */
export async function* readAttemptStream(
  body: ReadableStream<Uint8Array>,
  opts: ReadOptions,
): AsyncGenerator<AttemptItem, StreamEnd> {
  const events = readRepairAttempt(body, opts);
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) return next.value;
      const item = toItem(next.value.data);
      if (item === null) return "read_error";
      yield item;
      if (item.type === "error") return "eof";
    }
  } finally {
    // Stops the reader (and cancels the upstream body) when this generator ends early.
    await events.return("aborted");
  }
}

function toItem(data: string): AttemptItem | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== "object" || value === null) return null;
  const error = (value as { error?: unknown }).error;
  if (typeof error === "object" && error !== null) {
    const e = error as Partial<GoogleErrorBody>;
    return {
      type: "error",
      error: {
        code: typeof e.code === "number" ? e.code : 500,
        message: typeof e.message === "string" ? e.message : "upstream error",
        status: typeof e.status === "string" ? e.status : "INTERNAL",
      },
    };
  }
  return { type: "chunk", chunk: value as GenerateContentResponse };
}

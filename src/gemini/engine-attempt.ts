import { SseParser } from "../stream/sse-parser";
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

const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Reads one attempt's SSE body as Gemini chunks and in-stream errors, enforcing the first-event and idle timeouts and
 * the deadline with the injected clock. The generator's return value says how the stream ended. Cancelling the
 * reader on a timeout releases the upstream connection (the caller also aborts the attempt's signal).
 */
export async function* readAttemptStream(
  body: ReadableStream<Uint8Array>,
  opts: ReadOptions,
): AsyncGenerator<AttemptItem, StreamEnd> {
  const reader = body.getReader();
  const parser = new SseParser();
  let sawEvent = false;
  try {
    for (;;) {
      if (opts.signal.aborted) return "aborted";
      const now = opts.clock.now();
      const budget = Math.min(sawEvent ? opts.idleTimeoutMs : opts.firstByteTimeoutMs, opts.deadlineAt - now);
      if (budget <= 0)
        return opts.deadlineAt <= now ? "deadline" : sawEvent ? "idle_timeout" : "first_byte_timeout";
      const timer = new AbortController();
      const onAbort = () => timer.abort();
      opts.signal.addEventListener("abort", onAbort);
      let step: ReadableStreamReadResult<Uint8Array> | typeof TIMED_OUT;
      try {
        step = await Promise.race([
          reader.read(),
          opts.clock.sleep(budget, timer.signal).then((): typeof TIMED_OUT => TIMED_OUT),
        ]);
      } catch {
        return opts.signal.aborted ? "aborted" : "read_error";
      } finally {
        timer.abort();
        opts.signal.removeEventListener("abort", onAbort);
      }
      if (step === TIMED_OUT) {
        if (opts.signal.aborted) return "aborted";
        if (opts.clock.now() >= opts.deadlineAt) return "deadline";
        return sawEvent ? "idle_timeout" : "first_byte_timeout";
      }
      const events = step.done ? parser.end() : parser.push(step.value);
      for (const ev of events) {
        sawEvent = true;
        const item = toItem(ev.data);
        if (item === null) return "read_error";
        yield item;
        if (item.type === "error") return "eof";
      }
      if (step.done) return "eof";
    }
  } finally {
    reader.cancel().catch(() => {});
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

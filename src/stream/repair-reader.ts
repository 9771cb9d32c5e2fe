/**
 * Reads one repair attempt's SSE body as events, enforcing the first-event and idle bounds and the deadline with the
 * injected clock (format-independent: the adapter interprets the events). The generator's return value says how the
 * stream ended. Cancelling the reader releases the upstream connection (the caller also aborts the attempt).
 */
import type { RepairClock } from "./repair-types";
import { type SseEvent, SseParser } from "./sse-parser";

/** How an attempt's byte stream ended. */
export type RepairStreamEnd =
  | "eof"
  | "read_error"
  | "idle_timeout"
  | "first_byte_timeout"
  | "deadline"
  | "aborted";

export interface RepairReadOptions {
  clock: RepairClock;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  /** Absolute clock time the whole generation must end by. */
  deadlineAt: number;
  signal: AbortSignal;
}

const TIMED_OUT: unique symbol = Symbol("timed out");

export async function* readRepairAttempt(
  body: ReadableStream<Uint8Array>,
  opts: RepairReadOptions,
): AsyncGenerator<SseEvent, RepairStreamEnd> {
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
      for (const event of events) {
        sawEvent = true;
        yield event;
      }
      if (step.done) return "eof";
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

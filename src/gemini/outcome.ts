import type { GoogleErrorBody } from "./types";

/**
 * The outcome of one upstream attempt, decided when its stream ends (or fails). The engine acts on the kind:
 * - `complete`: a clean `STOP` with an answer (text or a function call): done.
 * - `max_tokens`: the client's own limit was reached: done, passed through.
 * - `blocked`: safety/recitation/prompt block: passed through, never retried.
 * - `truncated`: cut off (no finishReason, read error, timeout, mid-stream 5xx/429, `OTHER` or an unknown reason):
 *   continue from what the client received.
 * - `empty` / `thought_only`: `STOP` without any answer: restart (or continue when an answer already exists).
 * - `fatal`: a mid-stream client error (4xx other than 429): retrying would fail the same way.
 */
export type OutcomeKind =
  | "complete"
  | "max_tokens"
  | "blocked"
  | "truncated"
  | "empty"
  | "thought_only"
  | "fatal";

export interface Outcome {
  kind: OutcomeKind;
  /** Short machine token for logs and `finishMessage`s, e.g. `no_finish_reason`, `idle_timeout`, `SAFETY`. */
  reason: string;
}

/** How the attempt's byte stream ended, as seen by the engine. */
export type StreamEnd = "eof" | "read_error" | "idle_timeout" | "first_byte_timeout" | "deadline" | "aborted";

export interface AttemptObservation {
  /** The last `finishReason` seen on candidate 0, if any. */
  finishReason: string | null;
  /** `promptFeedback.blockReason`, if any. */
  blockReason: string | null;
  /** A `{"error": …}` object received inside the stream. */
  streamError: GoogleErrorBody | null;
  end: StreamEnd;
  answerChars: number;
  thoughtChars: number;
  functionCalls: number;
}

/** Finish reasons that mean "the content was withheld": passed through, never retried. */
const BLOCKING_REASONS = new Set([
  "SAFETY",
  "PROHIBITED_CONTENT",
  "BLOCKLIST",
  "SPII",
  "RECITATION",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
  "LANGUAGE",
]);

export function isBlockingFinishReason(reason: string): boolean {
  return BLOCKING_REASONS.has(reason);
}

/** Whether a `finishReason` ends the generation for good (the engine must not continue past it). */
export function isTerminalFinishReason(reason: string): boolean {
  return reason === "STOP" || reason === "MAX_TOKENS" || BLOCKING_REASONS.has(reason);
}

export function classifyAttempt(o: AttemptObservation): Outcome {
  if (o.blockReason !== null) return { kind: "blocked", reason: o.blockReason };
  const reason = o.finishReason;
  // A terminal finishReason decides the outcome even when the connection failed afterwards: the answer is whole.
  if (reason !== null && BLOCKING_REASONS.has(reason)) return { kind: "blocked", reason };
  if (reason === "MAX_TOKENS") return { kind: "max_tokens", reason };
  if (reason === "STOP") {
    if (o.answerChars > 0 || o.functionCalls > 0) return { kind: "complete", reason };
    return o.thoughtChars > 0
      ? { kind: "thought_only", reason: "thought_only" }
      : { kind: "empty", reason: "empty" };
  }
  if (o.streamError !== null) {
    const code = o.streamError.code;
    if (code >= 400 && code < 500 && code !== 429 && code !== 408) {
      return { kind: "fatal", reason: `stream_error_${code}` };
    }
    return { kind: "truncated", reason: `stream_error_${code}` };
  }
  if (reason !== null) return { kind: "truncated", reason: `finish_${reason}` };
  switch (o.end) {
    case "eof":
      return { kind: "truncated", reason: "no_finish_reason" };
    default:
      return { kind: "truncated", reason: o.end };
  }
}

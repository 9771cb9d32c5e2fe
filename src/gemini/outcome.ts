import { classifyRepairAttempt } from "../stream/repair-outcome";
import type { RepairStreamEnd } from "../stream/repair-reader";
import type { FinishClass } from "../stream/repair-types";
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
export type StreamEnd = RepairStreamEnd;

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

/** Gemini's finish reasons in the classes of the format-independent classifier. */
function finishClass(reason: string): FinishClass {
  if (BLOCKING_REASONS.has(reason)) return "blocked";
  if (reason === "MAX_TOKENS") return "max_tokens";
  return reason === "STOP" ? "complete" : "other";
}

/**
 * The format-independent classifier (`src/stream/repair-outcome.ts`) on Gemini's observation: a prompt block first,
 * function calls count as an answer, `thought_only` is the generic `reasoning_only`.
 */
export function classifyAttempt(o: AttemptObservation): Outcome {
  if (o.blockReason !== null) return { kind: "blocked", reason: o.blockReason };
  const outcome = classifyRepairAttempt({
    finish: o.finishReason === null ? null : { reason: o.finishReason, cls: finishClass(o.finishReason) },
    streamError:
      o.streamError === null ? null : { status: o.streamError.code, message: o.streamError.message },
    end: o.end,
    answerChars: o.answerChars,
    reasoningChars: o.thoughtChars,
    opaque: o.functionCalls,
  });
  return outcome.kind === "reasoning_only"
    ? { kind: "thought_only", reason: "thought_only" }
    : (outcome as Outcome);
}

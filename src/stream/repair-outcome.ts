/**
 * The outcome classes of one repair attempt, format-independent (the Gemini engine's `outcome.ts` has the same
 * classes for Gemini's finish reasons). The engine acts on the kind:
 * - `complete`: the generation finished with an answer (text, or a tool call): done;
 * - `max_tokens`: the client's own limit was reached: done, passed on;
 * - `blocked`: a content filter or refusal ended it: passed on, never retried;
 * - `truncated`: cut (no finish reason, a finish reason of class `other`, read error, timeout, a mid-stream
 *   5xx/429 or a cut the guard reported): continue from what the client received;
 * - `empty` / `reasoning_only`: finished without any answer: restart;
 * - `fatal`: a mid-stream client error (4xx other than 408/429): another attempt would fail the same way.
 */
import type { RepairStreamEnd } from "./repair-reader";
import type { FinishClass } from "./repair-types";

export type RepairOutcomeKind =
  | "complete"
  | "max_tokens"
  | "blocked"
  | "truncated"
  | "empty"
  | "reasoning_only"
  | "fatal";

export interface RepairOutcome {
  kind: RepairOutcomeKind;
  /** Short machine token for logs and messages: `no_finish_reason`, `idle_timeout`, `stream_error_529`… */
  reason: string;
}

export interface RepairObservation {
  /** The attempt's finish reason and its class, when one arrived. */
  finish: { reason: string; cls: FinishClass; stopSequence?: string | null } | null;
  /** An in-band error event. */
  streamError: { status: number; message: string } | null;
  end: RepairStreamEnd;
  answerChars: number;
  reasoningChars: number;
  /** Tool calls, refusals and other output that is passed on but never continued. */
  opaque: number;
}

export function classifyRepairAttempt(o: RepairObservation): RepairOutcome {
  // A finish reason decides even when the connection failed afterwards: the answer is whole.
  if (o.finish !== null) {
    const { reason, cls } = o.finish;
    if (cls === "blocked") return { kind: "blocked", reason };
    if (cls === "max_tokens") return { kind: "max_tokens", reason };
    // A reason that does not end the generation (Gemini `OTHER`, an unknown one) is a cut, unless an error decides.
    if (cls === "other")
      return o.streamError !== null ? streamErrorOutcome(o.streamError.status) : truncatedBy(reason);
    if (o.answerChars > 0 || o.opaque > 0) return { kind: "complete", reason };
    return o.reasoningChars > 0
      ? { kind: "reasoning_only", reason: "reasoning_only" }
      : { kind: "empty", reason: "empty" };
  }
  if (o.streamError !== null) return streamErrorOutcome(o.streamError.status);
  return { kind: "truncated", reason: o.end === "eof" ? "no_finish_reason" : o.end };
}

/** A mid-stream error: a client error (4xx but 408/429) is fatal, anything else a cut. */
function streamErrorOutcome(code: number): RepairOutcome {
  if (code >= 400 && code < 500 && code !== 429 && code !== 408) {
    return { kind: "fatal", reason: `stream_error_${code}` };
  }
  return { kind: "truncated", reason: `stream_error_${code}` };
}

const truncatedBy = (reason: string): RepairOutcome => ({ kind: "truncated", reason: `finish_${reason}` });

import type { AttemptFailure, AttemptStep as LoopStep } from "../stream/repair-loop";
import type { AttemptRecord } from "./engine-types";
import type { GoogleErrorBody } from "./types";

/** What ended an attempt that did not finish the generation: becomes the client's HTTP error if nothing was sent. */
export type Failure = AttemptFailure;

/** One attempt's result, as the shared attempt loop (src/stream/repair-loop.ts) needs it. */
export type AttemptStep = LoopStep<AttemptRecord["outcome"]>;

export function failureFromStreamError(error: GoogleErrorBody | null, reason: string): Failure {
  const status = error?.code ?? 502;
  return { status, body: JSON.stringify({ error }), contentType: "application/json; charset=UTF-8", reason };
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

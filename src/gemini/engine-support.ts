import type { AttemptRecord, EngineClock, EngineResult } from "./engine-types";
import type { GoogleErrorBody } from "./types";

/** Longest upstream error body kept for a pass-through (Google's are a few hundred bytes). */
export const MAX_ERROR_BODY_CHARS = 64 * 1024;

/** What ended an attempt that did not finish the generation: becomes the client's HTTP error if nothing was sent. */
export interface Failure {
  status: number | null;
  body: string;
  contentType: string;
  reason: string;
  retryAfter?: string;
}

/** One attempt's result, as the engine's loop needs it. */
export interface AttemptStep {
  status: number | null;
  outcome: AttemptRecord["outcome"];
  reason: string;
  answerChars: number;
  removedChars: number;
  /** Wait this long before the next attempt. */
  waitMs: number;
  /** No further attempt can help. */
  fatal: boolean;
  /** The generation is over with this result. */
  done: EngineResult | null;
  finishReason: string | null;
}

export function step(s: Partial<AttemptStep> & Pick<AttemptStep, "outcome" | "reason">): AttemptStep {
  return {
    status: null,
    answerChars: 0,
    removedChars: 0,
    waitMs: 0,
    fatal: false,
    done: null,
    finishReason: null,
    ...s,
  };
}

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

export async function readBounded(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.length > MAX_ERROR_BODY_CHARS ? text.slice(0, MAX_ERROR_BODY_CHARS) : text;
  } catch {
    return "";
  }
}

export const TIMEOUT: unique symbol = Symbol("timeout");

/** Awaits `work` for at most `ms` of the injected clock; on timeout aborts `ctl` and throws `TIMEOUT`. */
export async function raceTimeout<T>(
  work: Promise<T>,
  ms: number,
  clock: EngineClock,
  ctl: AbortController,
): Promise<T> {
  const timer = new AbortController();
  try {
    const winner = await Promise.race([
      work,
      clock.sleep(Math.max(0, ms), timer.signal).then((): typeof TIMEOUT => TIMEOUT),
    ]);
    if (winner === TIMEOUT) {
      ctl.abort();
      work.catch(() => {});
      throw TIMEOUT;
    }
    return winner;
  } finally {
    timer.abort();
  }
}

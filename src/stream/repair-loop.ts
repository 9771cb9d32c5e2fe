/**
 * The attempt loop both repair engines run (issue 12): the OpenAI/Anthropic `RepairEngine` and the Gemini
 * `ContinuationEngine` differ in how one attempt is read and rendered, not in how attempts follow each other. This
 * file holds that common part: the bounds check, the per-attempt abort link, the attempt record, the wait between
 * attempts, the first-byte race and the bounded read of an error body. Pure: time comes from the injected clock.
 */

import type { RepairBounds, RepairClock, RepairMode, RepairResult } from "./repair-types";
import { serverErrorBackoffMs } from "./retry-delay";

/** Longest upstream error body kept for a pass-through (real ones are a few hundred bytes). */
export const MAX_ERROR_BODY_CHARS = 64 * 1024;

/** What ended an attempt that did not finish the generation: becomes the client's HTTP error if nothing was sent. */
export interface AttemptFailure {
  status: number | null;
  body: string;
  contentType: string;
  reason: string;
  retryAfter?: string;
}

/** One attempt's result, as the loop needs it. */
export interface AttemptStep<O extends string = string> {
  status: number | null;
  outcome: O;
  reason: string;
  answerChars: number;
  removedChars: number;
  /** Wait this long before the next attempt. */
  waitMs: number;
  /** No further attempt can help. */
  fatal: boolean;
  /** The generation is over with this result. */
  done: RepairResult | null;
  finishReason: string | null;
}

export function step<O extends string>(
  s: Partial<AttemptStep<O>> & Pick<AttemptStep<O>, "outcome" | "reason">,
): AttemptStep<O> {
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

/** The record of one attempt (the engines' `AttemptRecord`/`RepairAttemptRecord` have this shape). */
export interface LoopAttemptRecord<O extends string = string> {
  /** 1-based. */
  n: number;
  mode: RepairMode;
  status: number | null;
  outcome: O;
  reason: string;
  answerChars: number;
  removedChars: number;
  durationMs: number;
}

/** What an engine hands the loop: its state readers and the format-specific steps. */
export interface AttemptLoop<O extends string, E, S> {
  clock: RepairClock;
  bounds: Pick<RepairBounds, "deadlineMs" | "maxAttempts" | "maxContinuations">;
  /** Aborting it (client gone) cancels the current attempt and starts no other. */
  signal: AbortSignal;
  startedAt: number;
  /** The engine's own list: the loop appends each attempt's record. */
  attempts: LoopAttemptRecord<O>[];
  nextMode(): RepairMode;
  continuations(): number;
  /** Builds the attempt's request (counting a continuation) and runs it; `ctl` aborts its upstream call. */
  attempt(mode: RepairMode, ctl: AbortController, deadlineAt: number): AsyncGenerator<E, AttemptStep<O>>;
  /** Called with each record once it is appended. */
  recorded(record: LoopAttemptRecord<O>): void;
  /** The client left: how the generation ends (without it: an "aborted" summary and nothing more). */
  aborted?(): AsyncGenerator<E, S>;
  /** A bound was reached or no attempt can help: how the generation ends. */
  giveUp(why: string): AsyncGenerator<E, S>;
  summary(result: RepairResult, finishReason: string | null): S;
}

/** Runs attempts until one finishes the generation, one is fatal, a bound is reached or the client leaves. */
export async function* runAttemptLoop<O extends string, E, S>(
  loop: AttemptLoop<O, E, S>,
): AsyncGenerator<E, S> {
  const { clock, signal } = loop;
  const deadlineAt = loop.startedAt + loop.bounds.deadlineMs;
  for (;;) {
    if (signal.aborted) return yield* stopped(loop);
    const stop = boundReached(loop, deadlineAt);
    if (stop !== null) return yield* loop.giveUp(stop);
    const mode = loop.nextMode();
    const n = loop.attempts.length + 1;
    const began = clock.now();
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal.addEventListener("abort", onAbort);
    let result: AttemptStep<O>;
    try {
      result = yield* loop.attempt(mode, ctl, deadlineAt);
    } finally {
      ctl.abort();
      signal.removeEventListener("abort", onAbort);
    }
    const record: LoopAttemptRecord<O> = {
      n,
      mode,
      status: result.status,
      outcome: result.outcome,
      reason: result.reason,
      answerChars: result.answerChars,
      removedChars: result.removedChars,
      durationMs: clock.now() - began,
    };
    loop.attempts.push(record);
    loop.recorded(record);
    if (result.done === "aborted") return yield* stopped(loop);
    if (result.done !== null) return loop.summary(result.done, result.finishReason);
    if (result.fatal) return yield* loop.giveUp(result.reason);
    if (result.waitMs > 0) {
      if (clock.now() + result.waitMs > deadlineAt) return yield* loop.giveUp("deadline");
      await clock.sleep(result.waitMs, signal);
    }
  }
}

async function* stopped<E, S>(loop: AttemptLoop<string, E, S>): AsyncGenerator<E, S> {
  if (loop.aborted === undefined) return loop.summary("aborted", null);
  return yield* loop.aborted();
}

function boundReached(loop: AttemptLoop<string, unknown, unknown>, deadlineAt: number): string | null {
  if (loop.attempts.length >= loop.bounds.maxAttempts) return "max_attempts";
  if (loop.clock.now() >= deadlineAt) return "deadline";
  if (loop.nextMode() === "continuation" && loop.continuations() >= loop.bounds.maxContinuations) {
    return "max_continuations";
  }
  return null;
}

/** The step of an attempt stopped before its end: the client left, or a continuation rewrote what was sent. */
export function interruptedStep(
  how: "aborted" | "rewrite",
  answerChars: number,
  removedChars: number,
): AttemptStep<"aborted" | "rewrite"> {
  if (how === "aborted") {
    return step({ outcome: "aborted", reason: "client_gone", done: "aborted", answerChars, removedChars });
  }
  return step({ outcome: "rewrite", reason: "rewrite", status: 200, answerChars, removedChars });
}

/** A 429: wait as asked (else the default); a longer wait than the bound is not waited for, the attempt is fatal. */
export function rateLimitedStep(
  status: number,
  reason: string,
  askedMs: number | null,
  b: Pick<RepairBounds, "rateLimitDefaultDelayMs" | "rateLimitMaxDelayMs">,
): AttemptStep<"http_error"> {
  const waitMs = askedMs ?? b.rateLimitDefaultDelayMs;
  if (waitMs > b.rateLimitMaxDelayMs) {
    return step({ outcome: "http_error", reason: "rate_limited_too_long", status, fatal: true });
  }
  return step({ outcome: "http_error", reason, status, waitMs });
}

/** A 5xx, 408 or transport failure: try again after the backoff for this many failures in a row. */
export function serverRetryStep<O extends string>(
  outcome: O,
  failure: AttemptFailure,
  consecutiveFailures: number,
  b: Pick<RepairBounds, "serverErrorBaseDelayMs" | "serverErrorMaxDelayMs">,
): AttemptStep<O> {
  const waitMs = serverErrorBackoffMs(consecutiveFailures, b.serverErrorBaseDelayMs, b.serverErrorMaxDelayMs);
  return step({ outcome, reason: failure.reason, status: failure.status, waitMs });
}

/** The wait after a stream that was cut by an in-band error with this status (0: none or not retryable). */
export function streamErrorWaitMs(
  code: number,
  b: Pick<RepairBounds, "rateLimitDefaultDelayMs" | "serverErrorBaseDelayMs" | "serverErrorMaxDelayMs">,
): number {
  if (code === 429) return b.rateLimitDefaultDelayMs;
  if (code >= 500) return serverErrorBackoffMs(1, b.serverErrorBaseDelayMs, b.serverErrorMaxDelayMs);
  return 0;
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
  clock: RepairClock,
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

import type { RepairClock } from "../stream/repair-types";

/**
 * Lifecycle pieces both session objects (`GeminiSession`, `StreamSession`) share: who is attached, when the upstream
 * is given up, and the bounded wait for the final reports. Storage (the retention alarm) stays in the objects, which
 * alone touch `ctx` (DESIGN §2); this module is pure and takes its clock as a parameter.
 */

/** Longest wait for the `/health` counters and health reports before a session ends without them. */
export const REPORT_SETTLE_TIMEOUT_MS = 2_000;

/** Wall-clock time and abortable sleeps, for the engines and the report wait of a live session. */
export const sessionClock: RepairClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<boolean>((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/**
 * Waits for `done` at most `timeoutMs`. Never throws: the final reports are statistics, not state, so a slow or failed
 * report must not hold the session's end back or turn it into a failure.
 */
export async function settleWithin(
  done: Promise<unknown>,
  clock: RepairClock,
  timeoutMs = REPORT_SETTLE_TIMEOUT_MS,
): Promise<void> {
  const timer = new AbortController();
  await Promise.race([done, clock.sleep(timeoutMs, timer.signal)]).catch(() => {});
  timer.abort();
  done.catch(() => {});
}

/**
 * Counts the clients attached to a running generation and aborts it once none has been attached for the grace
 * period, so a client that reconnects in time finds the generation still going, and one that never returns does not
 * keep paying for an upstream nobody reads.
 */
export class SessionClients {
  readonly #abort = new AbortController();
  #clients = 0;
  #running = false;
  #graceMs: number;
  #graceTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  /** Aborts when the grace period ends with no client attached; the engine stops its upstream on it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Whether the generation still runs (the retention alarm then waits another period). */
  get running(): boolean {
    return this.#running;
  }

  /** The generation starts, with the start request's grace period. */
  begin(graceMs: number): void {
    this.#graceMs = graceMs;
    this.#running = true;
  }

  /** The generation ended: nothing is left to abort. */
  end(): void {
    this.#running = false;
    this.#clearGrace();
  }

  /** Counts one more attached client (cancelling the grace period); returns its idempotent detach. */
  attach(): () => void {
    this.#clients++;
    this.#clearGrace();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#clients--;
      if (this.#clients === 0 && this.#running) this.#startGrace();
    };
  }

  #startGrace(): void {
    this.#clearGrace();
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      if (this.#clients === 0 && this.#running) this.#abort.abort();
    }, this.#graceMs);
  }

  #clearGrace(): void {
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
  }
}

/** What both engines' summaries hold that a session reports when it ends. */
export interface SessionSummary {
  result: string;
  finishReason: string | null;
  attempts: { mode: string; outcome: string; reason: string }[];
  continuations: number;
  recovered: boolean;
  removedChars: number;
  answerChars: number;
}

/** A generation the model ended (a block or the token limit included) counts as completed; anything else failed. */
export function endedWell(summary: SessionSummary): boolean {
  return summary.result === "complete" || summary.result === "max_tokens" || summary.result === "blocked";
}

/** The one log line of an ended session (`msg` names the object), with no request content and no secrets. */
export function sessionEndLog(
  msg: string,
  session: string,
  start: { endpoint: { name: string }; format: string },
  summary: SessionSummary,
): string {
  return JSON.stringify({
    msg,
    session,
    endpoint: start.endpoint.name,
    format: start.format,
    result: summary.result,
    finish_reason: summary.finishReason,
    attempts: summary.attempts.length,
    continuations: summary.continuations,
    recovered: summary.recovered,
    removed_chars: summary.removedChars,
    answer_chars: summary.answerChars,
    outcomes: summary.attempts.map((a) => `${a.mode}:${a.outcome}:${a.reason}`),
  });
}

import type { OutcomeKind } from "./outcome";
import type { GenerateContentRequest, GenerateContentResponse, RetryPrompts } from "./types";

/** Injected time: real timers in the Durable Object, a virtual clock in unit tests. */
export interface EngineClock {
  now(): number;
  /** Resolves `true` after `ms`, or `false` as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/**
 * One upstream call: POST `body` to the SSE stream route; rejects on transport failure. `R` is how a request is held:
 * a parsed object (tests, the default kit) or pre-encoded bytes (`encoded-request.ts`, the session object).
 */
export type RunAttempt<R = GenerateContentRequest> = (body: R, signal: AbortSignal) => Promise<Response>;

export type AlignStep = { kind: "pending" } | { kind: "emit"; text: string } | { kind: "rewrite" };

export interface Aligner {
  push(text: string): AlignStep;
  /**
   * Releases what is still held. Only for a continuation that ended with STOP: after a cut, held text
   * may be a half-repeated tail, and the next continuation regenerates it anyway.
   */
  finish(): AlignStep;
  readonly removedChars: number;
}

/** The continuation helper's modules, injected so the engine stays testable on its own. */
export interface ContinuationKit<R = GenerateContentRequest> {
  buildContinuation(
    original: R,
    answerText: string,
    opts: { prompts: RetryPrompts; producedOutputTokens: number },
  ): R;
  buildRestart(original: R, opts: { prompts: RetryPrompts; producedOutputTokens: number }): R;
  createAligner(sentAnswer: string): Aligner;
}

/** Every bound of the engine, named with its unit; all configurable. */
export interface EngineBounds {
  /** Continuation requests after the first attempt (not counting plain retries of a failed HTTP call). */
  maxContinuations: number;
  /** Upstream calls in total, of any kind. */
  maxAttempts: number;
  /** Wall time for the whole generation, backoffs included. */
  deadlineMs: number;
  /** From sending an attempt to its first SSE event (thinking models are slow to start). */
  firstByteTimeoutMs: number;
  /** Longest silence between two SSE events once the stream has started. */
  idleTimeoutMs: number;
  /** 429 without RetryInfo/Retry-After waits this long. */
  rateLimitDefaultDelayMs: number;
  /** A 429 asking for a longer wait than this is not waited for: the engine gives up on it. */
  rateLimitMaxDelayMs: number;
  /** 5xx / transport failure backoff: base·2^(n-1) … */
  serverErrorBaseDelayMs: number;
  /** … capped here. */
  serverErrorMaxDelayMs: number;
}

export const DEFAULT_ENGINE_BOUNDS: Readonly<EngineBounds> = Object.freeze({
  maxContinuations: 4,
  maxAttempts: 8,
  deadlineMs: 15 * 60_000,
  firstByteTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  rateLimitDefaultDelayMs: 2_000,
  rateLimitMaxDelayMs: 20_000,
  serverErrorBaseDelayMs: 500,
  serverErrorMaxDelayMs: 8_000,
});

export interface EngineInput<R = GenerateContentRequest> {
  request: R;
  runAttempt: RunAttempt<R>;
  kit: ContinuationKit<R>;
  prompts: RetryPrompts;
  clock: EngineClock;
  bounds?: Partial<EngineBounds>;
  /** Aborting it (client gone past its grace period) cancels the current attempt and starts no other. */
  signal?: AbortSignal;
  /** Called after every attempt, for logs and counters. */
  onAttempt?: (record: AttemptRecord) => void;
}

/** What the engine hands the client, in order. */
export type EngineEvent =
  /** A rebuilt Gemini chunk for the client (the last one carries the only finishReason). */
  | { type: "chunk"; chunk: GenerateContentResponse }
  /**
   * Nothing was sent yet and the generation cannot succeed: answer with this HTTP error. `passthrough` marks the
   * upstream's own answer (status, body and content type unchanged); otherwise it is the gateway's Google-format error.
   */
  | {
      type: "http_error";
      status: number;
      body: string;
      contentType: string;
      passthrough: boolean;
      reason: string;
      retryAfter?: string;
    };

export type AttemptMode = "initial" | "continuation" | "restart" | "retry";

export interface AttemptRecord {
  /** 1-based. */
  n: number;
  mode: AttemptMode;
  /** Upstream HTTP status, or null when the call itself failed. */
  status: number | null;
  outcome: OutcomeKind | "http_error" | "transport_error" | "rewrite" | "aborted";
  reason: string;
  /** Answer characters this attempt added to what the client received. */
  answerChars: number;
  /** Characters the aligner removed from this attempt's start (preamble, overlap, replay). */
  removedChars: number;
  durationMs: number;
}

export type EngineResult = "complete" | "max_tokens" | "blocked" | "failed" | "aborted" | "http_error";

export interface EngineSummary {
  result: EngineResult;
  finishReason: string | null;
  attempts: AttemptRecord[];
  continuations: number;
  removedChars: number;
  /** The generation succeeded after at least one failed attempt. */
  recovered: boolean;
  answerChars: number;
  chunks: number;
}

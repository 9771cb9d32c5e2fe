import { DEFAULT_REPAIR_BOUNDS, type RepairBounds, type RepairClock } from "../stream/repair-types";
import type { OutcomeKind } from "./outcome";
import type { GenerateContentRequest, GenerateContentResponse, RetryPrompts } from "./types";

/** Injected time (`src/stream/repair-types.ts`): real timers in the Durable Object, a virtual clock in unit tests. */
export type EngineClock = RepairClock;

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

/**
 * The engine's bounds: the format-independent ones of `src/stream/repair-types.ts`, shared with the stream repair
 * engine of OpenAI chat and Anthropic streams (one definition, one set of defaults).
 */
export type EngineBounds = RepairBounds;
export const DEFAULT_ENGINE_BOUNDS: Readonly<EngineBounds> = DEFAULT_REPAIR_BOUNDS;

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
  /**
   * The first attempt's bytes are fed by a reader that applies the bounds itself (the Worker feeds a session object
   * the attempt it made, issue 13): this engine's first-byte and idle timeouts of that attempt are extended by this
   * much, so it times out only a feed whose reader is gone, never before the reader decided.
   */
  firstAttemptSlackMs?: number;
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

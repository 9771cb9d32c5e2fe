/**
 * The contract of the format-independent stream repair engine (`repair-engine.ts`, issue 12): what a wire format's
 * adapter tells it about upstream events (`RepairItem`), how it renders the client's events (`ClientEncoder`), how it
 * builds a continuation request (`RepairFormat.buildContinuation`), and the engine's bounds. OpenAI chat completions
 * (`src/openai/chat-repair.ts`) and Anthropic Messages (`src/anthropic/messages-repair.ts`) are the adapters.
 */
import type { SseEvent } from "./sse-parser";

/** Injected time: real timers in the Durable Object, a virtual clock in unit tests. */
export interface RepairClock {
  now(): number;
  /** Resolves `true` after `ms`, or `false` as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/** What one upstream event means, in the engine's terms. An event may carry several items. */
export type RepairItem =
  /** The response's identity (OpenAI id/model/created, Anthropic `message_start`'s message). */
  | { kind: "start"; meta: Record<string, unknown> }
  /** Reasoning text (`reasoning_content`, `reasoning`, a `thinking` block): shown, never fed back. */
  | ReasoningItem
  /** Answer text: shown, and fed back to a continuation. */
  | { kind: "text"; text: string }
  /** Anything that must not be continued after (a tool or function call, a refusal): passed on as it is. */
  | { kind: "opaque"; value: unknown }
  /** The generation's end reason (`finish_reason`, `stop_reason`) and, for Anthropic, the stop sequence it hit. */
  | { kind: "finish"; reason: string; stopSequence?: string | null }
  /** A usage report; the attempt's last one (merged field by field) is its total. */
  | { kind: "usage"; usage: Record<string, unknown> }
  /** An in-band error event. `status` is the HTTP status it stands for (a cut the guard reported is a 502). */
  | { kind: "error"; status: number; message: string }
  /** The format's end marker (`data: [DONE]`, `message_stop`). */
  | { kind: "end" };

/** Reasoning text; `field` names the wire field it came in (`reasoning_content`, `reasoning`), `signature` a
 * thinking block's signature (Anthropic). */
export interface ReasoningItem {
  kind: "reasoning";
  text: string;
  field?: string;
  signature?: string;
}

/** How a finish reason ends the generation. */
export type FinishClass = "complete" | "max_tokens" | "blocked" | "other";

/** Why a repaired stream failed, for the final in-band error event. */
export interface RepairFailure {
  /** `truncated`, `stalled` or `upstream_error`, as the guard names them. */
  reason: "truncated" | "stalled" | "upstream_error";
  message: string;
}

/** Renders the client's events (complete SSE events, blank line included) for one session. Stateful. */
export interface ClientEncoder {
  reasoning(item: ReasoningItem): string[];
  text(text: string): string[];
  opaque(value: unknown): string[];
  /** The events that end a finished generation (finish reason, summed usage, end marker). */
  finish(reason: string, usage: Record<string, unknown> | null, stopSequence?: string | null): string[];
  /** The final error event of a generation that cannot be finished (never followed by a clean end). */
  error(failure: RepairFailure): string[];
}

export interface ContinuationOptions {
  /** Assistant-prefix continuation (`prefix`/`partial` message, Anthropic prefill), else the continue prompt. */
  prefix: boolean;
  /** Output tokens the attempts so far produced (reported, or estimated): taken off the client's token limit. */
  producedOutputTokens: number;
}

/** A wire format's adapter for the repair engine. `Req` is the parsed client request. */
export interface RepairFormat<Req> {
  readonly name: string;
  /** A prefix continuation sends the answer without its trailing whitespace (`prefix-aligner.ts`). */
  readonly prefixTrimsWhitespace: boolean;
  /** A fresh parser for one attempt's events. */
  newParser(): { parse(event: SseEvent): RepairItem[] };
  /** A fresh encoder for the client's events, started with the first attempt's `start` meta. */
  newEncoder(meta: Record<string, unknown>): ClientEncoder;
  classifyFinish(reason: string): FinishClass;
  /** The request that continues `answer` (the answer text the client has; never reasoning). */
  buildContinuation(original: Req, answer: string, opts: ContinuationOptions): Req;
  /** Whether this request may be continued by assistant prefix (else by the continue prompt). */
  prefixFor(original: Req): boolean;
  /** The output tokens a usage report counts. */
  outputTokens(usage: Record<string, unknown>): number;
}

/** Every bound of the engine, named with its unit; all configurable (`STREAM_REPAIR`). */
export interface RepairBounds {
  /** Continuation requests after the first attempt (not counting plain retries of a failed HTTP call). */
  maxContinuations: number;
  /** Upstream calls in total, of any kind. */
  maxAttempts: number;
  /** Wall time for the whole generation, backoffs included. */
  deadlineMs: number;
  /** From sending an attempt to its first SSE event (reasoning models are slow to start). */
  firstByteTimeoutMs: number;
  /** Longest silence between two SSE events once the stream has started. */
  idleTimeoutMs: number;
  /** 429 without Retry-After waits this long. */
  rateLimitDefaultDelayMs: number;
  /** A 429 asking for a longer wait than this is not waited for: the engine gives up on it. */
  rateLimitMaxDelayMs: number;
  /** 5xx / transport failure backoff: base·2^(n-1) … */
  serverErrorBaseDelayMs: number;
  /** … capped here. */
  serverErrorMaxDelayMs: number;
}

/** The defaults of both engines (the Gemini engine's `DEFAULT_ENGINE_BOUNDS` is this object). */
export const DEFAULT_REPAIR_BOUNDS: Readonly<RepairBounds> = Object.freeze({
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

/** One upstream call: POST `body`; rejects on transport failure (every target failed). */
export type RepairAttempt<Req> = (body: Req, signal: AbortSignal) => Promise<Response>;

export type RepairMode = "initial" | "retry" | "continuation" | "restart";

export interface RepairAttemptRecord {
  n: number;
  mode: RepairMode;
  status: number | null;
  outcome: string;
  reason: string;
  /** Answer characters this attempt added to what the client received. */
  answerChars: number;
  /** Characters the aligner removed from this attempt's start. */
  removedChars: number;
  durationMs: number;
}

/** What the engine hands the client, in order. */
export type RepairEvent =
  /** Complete SSE events for the client. */
  | { type: "events"; events: string[] }
  /** Nothing was sent yet and the generation cannot succeed: answer with this HTTP error. */
  | {
      type: "http_error";
      status: number;
      body: string;
      contentType: string;
      /** The upstream's own answer (else the gateway's error JSON). */
      passthrough: boolean;
      reason: string;
      retryAfter?: string;
    };

export type RepairResult = "complete" | "max_tokens" | "blocked" | "failed" | "aborted" | "http_error";

export interface RepairSummary {
  result: RepairResult;
  finishReason: string | null;
  attempts: RepairAttemptRecord[];
  continuations: number;
  removedChars: number;
  recovered: boolean;
  answerChars: number;
}

/**
 * Scripts of the model-playing mock (`model.mock.ts`, issue 12): types of its control API, shared by the workerd
 * integration tests and the Node e2e tests. Pure (no Node APIs).
 *
 * The mock holds a ground-truth answer and plays an OpenAI-compatible or Anthropic model: each request is answered
 * with the part of the answer that follows whatever partial answer the request carries (an assistant prefix, or an
 * assistant turn followed by a continue prompt), so a test proves what the gateway fed back. A request whose partial
 * answer is not a prefix of the ground truth gets a 400 naming the mismatch.
 */

/** How one attempt ends early (after `cutAfter` characters of the text it emits). */
export type CutKind =
  /** The response ends cleanly without the terminal event. */
  | "close"
  /** Half of the next event is written, then the response ends. */
  | "mid_event"
  /** The next event's bytes are written up to the middle of its first multi-byte character, then the end. */
  | "mid_char"
  /** Nothing more is written; the connection stays open. */
  | "stall"
  /** TCP reset. */
  | "reset"
  /** An in-band error event (OpenAI `{"error":…}`, Anthropic `overloaded_error`). */
  | "error";

export interface AttemptPlan {
  /** Answer with this HTTP status and body instead of a stream. */
  status?: number;
  body?: string;
  /** Cut after this many characters of the attempt's answer text (0: before any answer text). */
  cutAfter?: number;
  /** Cut inside the reasoning, after this many of its characters. */
  cutInReasoningAfter?: number;
  cut?: CutKind;
  /** Prompt-mode continuations: text the model puts before its continuation ("Sure, continuing:"). */
  preamble?: string;
  /** Prompt-mode continuations: the model repeats the last `overlap` characters of the partial answer. */
  overlap?: number;
  /** Prompt-mode continuations: the model starts the whole answer over. */
  restart?: boolean;
  /** An in-band error event before any content. */
  errorBeforeContent?: boolean;
  /** The attempt finishes normally (finish reason, usage) without any answer text (reasoning only, if any). */
  emptyAnswer?: boolean;
}

export interface ModelScript {
  format: "openai" | "anthropic";
  /** The ground-truth answer text. */
  answer: string;
  /** Reasoning the model emits before its answer on every attempt (`reasoning_content` / a thinking block). */
  reasoning?: string;
  /** Which assistant-prefix continuation the model honours; others get a 400. */
  prefix: "prefix" | "partial" | "anthropic" | "none";
  /** The answer is a tool call with these arguments (JSON text) instead of text. */
  toolArguments?: string;
  /** One plan per request, in order; requests beyond the list complete normally. */
  attempts: AttemptPlan[];
  /** Characters per streamed delta (default 4). */
  chunkChars?: number;
}

/** What the mock saw of one request. */
export interface ModelRequestRecord {
  body: string;
  /** `fresh`, `prefix` (assistant prefix/prefill) or `prompt` (assistant turn + continue prompt). */
  mode: "fresh" | "prefix" | "prompt";
  /** The partial answer the request carried. */
  partial: string;
  /** The usage this attempt reported (when it got as far as reporting usage). */
  usage: { input: number; output: number } | null;
  /** The `~name` of the target URL the request came to, if any. */
  target?: string;
  /** The `Authorization` header the request carried (key-pool tests). */
  authorization?: string;
}

export interface ModelObservation {
  requests: ModelRequestRecord[];
}

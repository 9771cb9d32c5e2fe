/**
 * Scripts for the SSE LLM mock (`sse-llm.mock.ts`): the types of its control API and builders for
 * OpenAI chat completions, Responses and Anthropic Messages streams. Pure (no Node APIs), so workerd
 * integration tests and Node e2e tests build scenarios with the same code.
 */

/** One thing the mock does while answering. */
export type Step =
  /** Write text (UTF-8). */
  | { write: string }
  /** Write raw bytes given as hex (to cut inside a multi-byte character). */
  | { hex: string }
  | { delayMs: number }
  /** End the response cleanly (the HTTP body ends as if the stream were complete). */
  | { end: true }
  /** Close the connection without ending the HTTP body (FIN mid-body). */
  | { destroy: true }
  /** Reset the connection (TCP RST). */
  | { reset: true }
  /** Send nothing more and keep the connection open until the client goes away. */
  | { stall: true };

export interface Play {
  status?: number;
  headers?: Record<string, string>;
  steps: Step[];
}

export interface SseScript {
  /** Answers used first, one per request, in order. */
  queue?: Play[];
  /** The answer once the queue is empty (default: a 500). */
  fallback?: Play;
}

export interface SseObservation {
  requests: number;
  /** Request bodies as UTF-8 (at most 20 kept). */
  bodies: string[];
  paths: string[];
}

export const SSE_TARGETS = ["a", "b"] as const;

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

/** A streamed answer: each event written separately, then the given ending. */
export function ssePlay(events: readonly string[], ending: Step[] = [{ end: true }]): Play {
  return { status: 200, headers: SSE_HEADERS, steps: [...events.map((write) => ({ write })), ...ending] };
}

export function words(text: string): string[] {
  return text.split(/(?<= )/);
}

// ---- OpenAI chat completions ----

export function openaiChunk(delta: object, finish: string | null = null, extra: object = {}): string {
  const body = {
    id: "chatcmpl-sse",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "mock",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export const OPENAI_DONE = "data: [DONE]\n\n";

/** A whole chat completions stream: role chunk, one chunk per word, finish chunk, `[DONE]`. */
export function openaiStream(text: string): string[] {
  return [
    openaiChunk({ role: "assistant", content: "" }),
    ...words(text).map((w) => openaiChunk({ content: w })),
    openaiChunk({}, "stop"),
    OPENAI_DONE,
  ];
}

export function openaiError(message: string, type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, code: null } })}\n\n`;
}

// ---- OpenAI Responses ----

export function responsesEvent(type: string, data: object = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export function responsesStream(text: string): string[] {
  const response = { id: "resp_sse", object: "response", model: "mock", output: [] };
  const item = { id: "msg_sse", type: "message", role: "assistant", status: "in_progress", content: [] };
  const done = {
    ...response,
    status: "completed",
    output: [{ ...item, status: "completed", content: [{ type: "output_text", text, annotations: [] }] }],
  };
  return [
    responsesEvent("response.created", { response: { ...response, status: "in_progress" } }),
    responsesEvent("response.output_item.added", { output_index: 0, item }),
    ...words(text).map((delta) =>
      responsesEvent("response.output_text.delta", {
        item_id: "msg_sse",
        output_index: 0,
        content_index: 0,
        delta,
      }),
    ),
    responsesEvent("response.completed", { response: done }),
  ];
}

// ---- Anthropic Messages ----

export function anthropicEvent(type: string, data: object = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export function anthropicStream(text: string): string[] {
  const message = {
    id: "msg_sse",
    type: "message",
    role: "assistant",
    model: "mock",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 0 },
  };
  return [
    anthropicEvent("message_start", { message }),
    anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    anthropicEvent("ping"),
    ...words(text).map((w) =>
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: w } }),
    ),
    anthropicEvent("content_block_stop", { index: 0 }),
    anthropicEvent("message_delta", {
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 5 },
    }),
    anthropicEvent("message_stop"),
  ];
}

export function anthropicError(type: string, message: string): string {
  return anthropicEvent("error", { error: { type, message } });
}

/** Hex of the first `bytes` bytes of `text` in UTF-8 (to cut inside a character). */
export function hexPrefix(text: string, bytes: number): string {
  const data = new TextEncoder().encode(text).subarray(0, bytes);
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

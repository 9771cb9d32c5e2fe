/**
 * What the stream guard needs to know about one wire format (OpenAI chat completions, Responses,
 * Anthropic Messages…). Each format is an adapter in its own folder (`src/openai/`, `src/anthropic/`);
 * the guard (`stream-guard.ts`) is the same for all of them.
 */
import type { SseEvent } from "./sse-parser";

/**
 * What one upstream event means to the guard:
 * - `content`: generated output (text, reasoning, a tool call): the stream can be committed to the client;
 * - `meta`: anything else that is part of a healthy stream (role chunk, `message_start`, keep-alive);
 * - `terminal`: the format's final event; the stream is complete;
 * - `terminal_failure`: a final event that reports a failed generation (Responses `response.failed`):
 *   complete as a stream, but a failure of the target, and a reason to fail over before commit;
 * - `error`: an in-band error event from the upstream;
 * - `premature_end`: an end marker that arrived before the generation finished (OpenAI `[DONE]`
 *   without any `finish_reason`): never forwarded, the stream ends as cut;
 * - `malformed`: data that does not parse; forwarded as received, but never counted as content.
 */
export type EventKind =
  | "content"
  | "meta"
  | "terminal"
  | "terminal_failure"
  | "error"
  | "premature_end"
  | "malformed";

/** Classifies the events of one stream; may keep state across events. */
export interface EventClassifier {
  classify(event: SseEvent): EventKind;
}

/** Why a guarded stream failed. */
export type GuardFailureReason =
  /** The upstream ended (cleanly or not) before the format's final event. */
  | "truncated"
  /** Nothing arrived for longer than the bound (idle, or no content within the hold time). */
  | "stalled"
  /** The upstream sent an in-band error event (or a final event reporting failure). */
  | "upstream_error";

export interface GuardFailure {
  reason: GuardFailureReason;
  /** For people: what happened, naming the target host (never a path or a key). */
  message: string;
}

export interface StreamFormat {
  /** Short name for logs and messages: `openai-chat`, `openai-responses`, `anthropic-messages`. */
  readonly name: string;
  /** What the stream's final event is, for messages (`"data: [DONE]"`, `"message_stop"`). */
  readonly terminalName: string;
  newClassifier(): EventClassifier;
  /**
   * The bytes of the in-band error event that ends a failed stream: the event the format's official
   * SDK raises as an error. Always a complete event (ends with a blank line).
   */
  errorEvent(failure: GuardFailure): string;
}

/** Parses an event's JSON data; `undefined` when it is not JSON. */
export function parseEventJson(event: SseEvent): unknown {
  try {
    return JSON.parse(event.data);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Anthropic Messages streams (`…/messages` with `stream: true`), for the stream guard. The stream is
 * complete with `message_stop`; `error` is the in-band error event; a content block (text, thinking,
 * tool use) starting or growing is content.
 *
 * The error event the guard ends a failed stream with is `event: error` plus
 * `{"type":"error","error":{"type":…,"message":…}}`: the official SDK raises it as an `APIError`
 * (`Stream.fromSSEResponse`: `if (sse.event === 'error') throw …`). The `event:` line is required:
 * that SDK skips events without one.
 */
import type { SseEvent } from "../stream/sse-parser";
import {
  type EventClassifier,
  type EventKind,
  type GuardFailure,
  isRecord,
  parseEventJson,
  type StreamFormat,
} from "../stream/stream-format";

/** Anthropic's own error types: a stall reads as a timeout, anything else as an API error. */
const ERROR_TYPES: Record<GuardFailure["reason"], string> = {
  truncated: "api_error",
  stalled: "timeout_error",
  upstream_error: "api_error",
};

class MessagesClassifier implements EventClassifier {
  classify(event: SseEvent): EventKind {
    const value = parseEventJson(event);
    if (!isRecord(value)) return "malformed";
    switch (value.type) {
      case "error":
        return "error";
      case "message_stop":
        return "terminal";
      case "content_block_start":
      case "content_block_delta":
        return "content";
      default:
        return "meta";
    }
  }
}

export function anthropicErrorEvent(failure: GuardFailure): string {
  const body = { type: "error", error: { type: ERROR_TYPES[failure.reason], message: failure.message } };
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

export const anthropicMessagesStream: StreamFormat = {
  name: "anthropic-messages",
  terminalName: "message_stop",
  newClassifier: () => new MessagesClassifier(),
  errorEvent: anthropicErrorEvent,
};

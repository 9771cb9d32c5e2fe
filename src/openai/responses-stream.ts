/**
 * OpenAI Responses API streams (`…/responses` with `stream: true`), for the stream guard. Every event's
 * JSON names its `type`. The stream is complete with `response.completed` or `response.incomplete`;
 * `response.failed` is final too but reports a failed generation. `error` is the in-band error event.
 * The lifecycle events before any output are not content; every other event type is (deltas, finished
 * items, tool progress), so a type added to the API later commits rather than being held.
 */
import type { SseEvent } from "../stream/sse-parser";
import {
  type EventClassifier,
  type EventKind,
  isRecord,
  parseEventJson,
  type StreamFormat,
} from "../stream/stream-format";
import { openaiErrorEvent } from "./error-event";

const LIFECYCLE = new Set([
  "response.created",
  "response.queued",
  "response.in_progress",
  "response.output_item.added",
  "response.content_part.added",
]);

class ResponsesClassifier implements EventClassifier {
  classify(event: SseEvent): EventKind {
    const value = parseEventJson(event);
    if (!isRecord(value)) return "malformed";
    if (value.error !== undefined && value.type === undefined) return "error";
    const type = value.type;
    if (typeof type !== "string") return "meta";
    if (type === "error") return "error";
    if (type === "response.completed" || type === "response.incomplete") return "terminal";
    if (type === "response.failed") return "terminal_failure";
    if (LIFECYCLE.has(type)) return "meta";
    return "content";
  }
}

export const openaiResponsesStream: StreamFormat = {
  name: "openai-responses",
  terminalName: "response.completed",
  newClassifier: () => new ResponsesClassifier(),
  errorEvent: openaiErrorEvent,
};

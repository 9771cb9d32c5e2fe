/**
 * OpenAI chat completions (`…/chat/completions`) and legacy completions (`…/completions`) streams, for
 * the stream guard. A stream is complete when a choice carried a `finish_reason` and `data: [DONE]`
 * followed; `[DONE]` without any `finish_reason` is an end marker sent too early. Content is any
 * generated output: `content`, reasoning (`reasoning_content`, `reasoning`), a refusal, tool or
 * function calls, or a legacy completion's `text`.
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

const CONTENT_FIELDS = ["content", "reasoning_content", "reasoning", "refusal"] as const;

function hasText(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

/** Whether one choice of a chunk carries generated output. */
function choiceHasContent(choice: Record<string, unknown>): boolean {
  if (hasText(choice.text)) return true;
  const delta = choice.delta;
  if (!isRecord(delta)) return false;
  if (CONTENT_FIELDS.some((field) => hasText(delta[field]))) return true;
  if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) return true;
  return isRecord(delta.function_call);
}

class ChatClassifier implements EventClassifier {
  #finished = false;

  classify(event: SseEvent): EventKind {
    if (event.data.trim() === "[DONE]") return this.#finished ? "terminal" : "premature_end";
    const chunk = parseEventJson(event);
    if (!isRecord(chunk)) return "malformed";
    if (chunk.error !== undefined && chunk.error !== null) return "error";
    let kind: EventKind = "meta";
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") this.#finished = true;
      if (choiceHasContent(choice)) kind = "content";
    }
    return kind;
  }
}

export const openaiChatStream: StreamFormat = {
  name: "openai-chat",
  terminalName: "a finish_reason and data: [DONE]",
  newClassifier: () => new ChatClassifier(),
  errorEvent: openaiErrorEvent,
};

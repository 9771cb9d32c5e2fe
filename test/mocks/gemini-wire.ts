/**
 * Byte encodings of the Gemini mock's responses: native SSE, the streamed JSON array (`:streamGenerateContent`
 * without `alt`), one aggregated `:generateContent` body, and the OpenAI-compatible chat-completions stream.
 * Pure: plans in, strings/bytes out.
 */
import type { PlanStep } from "./gemini-play";
import type { ScenarioSpec } from "./gemini-scenario";

type Json = Record<string, unknown>;
export type WireFormat = "sse" | "json-stream" | "generate" | "openai-stream" | "openai";

const encoder = new TextEncoder();

/** Bytes of an event cut short: half of it, or just into its first multi-byte UTF-8 character. */
export function cutBytes(full: string, cut: "half" | "mid-char"): { bytes: Uint8Array; note?: string } {
  const bytes = encoder.encode(full);
  if (cut === "mid-char") {
    const i = bytes.findIndex((b) => b >= 0x80);
    if (i >= 0) return { bytes: bytes.slice(0, i + 1) };
    return {
      bytes: bytes.slice(0, Math.floor(bytes.length / 2)),
      note: "no multi-byte character: cut at half",
    };
  }
  return { bytes: bytes.slice(0, Math.max(1, Math.floor(bytes.length / 2))) };
}

export function sseEvent(body: unknown, scenario: ScenarioSpec): string {
  return `${scenario.sseDataPrefix ?? "data: "}${JSON.stringify(body)}${scenario.sseSeparator ?? "\r\n\r\n"}`;
}

/** A raw error object the way Google's front end sometimes writes it into a stream: pretty-printed, no `data:`. */
export function rawErrorObject(error: Json): string {
  return `${JSON.stringify({ error }, null, 2)}\n`;
}

/** Element `index` of the streamed JSON array, with the separators the Gemini API uses. */
export function jsonArrayElement(body: unknown, index: number): string {
  return `${index === 0 ? "[" : "\n,\r\n"}${JSON.stringify(body, null, 2)}`;
}
export const JSON_ARRAY_END = "\n]";

/** Aggregates the full events of a plan into one `generateContent` response. */
export function aggregate(steps: PlanStep[]): Json {
  let text = "";
  let thought = "";
  const extraParts: Json[] = [];
  let last: Json | undefined;
  let finish: Json = {};
  for (const s of steps) {
    if (s.t !== "event") continue;
    last = s.body;
    const cand = (s.body.candidates as Json[] | undefined)?.[0];
    if (!cand) continue;
    const parts = ((cand.content as Json | undefined)?.parts as Json[] | undefined) ?? [];
    for (const p of parts) {
      if (typeof p.text === "string") {
        if (p.thought === true) thought += p.text;
        else text += p.text;
      } else extraParts.push(p);
    }
    const { content: _c, index: _i, ...rest } = cand;
    finish = rest;
  }
  if (last === undefined) return {};
  if (last.promptFeedback !== undefined) return last;
  const parts: Json[] = [];
  if (thought) parts.push({ text: thought, thought: true });
  if (text) parts.push({ text });
  parts.push(...extraParts);
  return {
    candidates: [{ content: { parts, role: "model" }, index: 0, ...finish }],
    usageMetadata: last.usageMetadata,
    modelVersion: last.modelVersion,
    responseId: last.responseId,
  };
}

const OPENAI_CREATED_S = 1_764_000_000;
const FINISH_TO_OPENAI: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  RECITATION: "content_filter",
};

/** One Gemini event as an OpenAI `chat.completion.chunk` (thought parts are left out). */
export function openAiChunk(body: Json, model: string, first: boolean): Json | null {
  const cand = (body.candidates as Json[] | undefined)?.[0];
  if (!cand) return null;
  const parts = ((cand.content as Json | undefined)?.parts as Json[] | undefined) ?? [];
  const text = parts
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text)
    .join("");
  const calls = parts.filter((p) => p.functionCall !== undefined);
  const finish = typeof cand.finishReason === "string" ? cand.finishReason : undefined;
  if (text === "" && calls.length === 0 && finish === undefined && !first) return null;
  const delta: Json = {};
  if (first) delta.role = "assistant";
  if (text !== "") delta.content = text;
  if (calls.length > 0) {
    delta.tool_calls = calls.map((p, index) => {
      const fc = p.functionCall as { name: string; args?: unknown };
      return {
        index,
        id: `call_${index}`,
        type: "function",
        function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
      };
    });
  }
  const choice: Json = {
    index: 0,
    delta,
    finish_reason:
      finish === undefined ? null : calls.length > 0 ? "tool_calls" : (FINISH_TO_OPENAI[finish] ?? "stop"),
  };
  return {
    id: `chatcmpl-${String(body.responseId ?? "mock")}`,
    object: "chat.completion.chunk",
    created: OPENAI_CREATED_S,
    model,
    choices: [choice],
  };
}

/** A whole plan as one non-streaming OpenAI `chat.completion`. */
export function openAiCompletion(steps: PlanStep[], model: string): Json {
  const agg = aggregate(steps);
  const cand = (agg.candidates as Json[] | undefined)?.[0];
  const parts = ((cand?.content as Json | undefined)?.parts as Json[] | undefined) ?? [];
  const text = parts
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text)
    .join("");
  const finish =
    typeof cand?.finishReason === "string" ? (FINISH_TO_OPENAI[cand.finishReason] ?? "stop") : null;
  return {
    id: `chatcmpl-${String(agg.responseId ?? "mock")}`,
    object: "chat.completion",
    created: OPENAI_CREATED_S,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finish }],
  };
}

export const utf8 = (s: string): Uint8Array => encoder.encode(s);

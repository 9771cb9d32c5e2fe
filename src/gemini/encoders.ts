import type { Candidate, GenerateContentResponse, GoogleErrorBody, Part } from "./types";

/**
 * Client-facing encoders. The engine produces a sequence of Gemini response chunks (rebuilt by the gateway); these
 * turn them into the format the client asked for. None of them writes `event:` lines or SSE comments: official SDKs
 * (the Google GenAI SDKs, and some OpenAI clients) fail on lines they do not expect.
 */

/** One SSE event: `data: {json}` and a CRLF blank line, exactly as Google's own `alt=sse` streams look. */
export function encodeSseEvent(chunk: unknown): string {
  return `data: ${JSON.stringify(chunk)}\r\n\r\n`;
}

/**
 * The streamed JSON array of `:streamGenerateContent` without `alt=sse`: `[` before the first element, `,\r\n`
 * between elements and `]` at the end. `index` is the element's position.
 */
export function encodeJsonArrayElement(chunk: unknown, index: number): string {
  return `${index === 0 ? "[" : ",\r\n"}${JSON.stringify(chunk)}`;
}

/** Closes a streamed JSON array of `count` elements (`[]` when empty). */
export function closeJsonArray(count: number): string {
  return count === 0 ? "[]" : "]";
}

/**
 * Merges a generation's chunks into one `generateContent` response: adjacent text parts of the same kind (thought or
 * answer) are joined, other parts kept in order; the finish fields and usage come from the last chunk carrying them.
 */
export function aggregateResponse(chunks: readonly GenerateContentResponse[]): GenerateContentResponse {
  const parts: Part[] = [];
  let candidateExtras: Partial<Candidate> = {};
  let finish: Pick<Candidate, "finishReason" | "finishMessage"> = {};
  const out: GenerateContentResponse = {};
  for (const chunk of chunks) {
    for (const [key, value] of Object.entries(chunk)) {
      if (key !== "candidates" && value !== undefined) out[key] = value;
    }
    const cand = chunk.candidates?.[0];
    if (!cand) continue;
    const { content, finishReason, finishMessage, ...extras } = cand;
    candidateExtras = { ...candidateExtras, ...extras };
    if (finishReason !== undefined) finish = { finishReason, ...(finishMessage ? { finishMessage } : {}) };
    for (const part of content?.parts ?? []) appendPart(parts, part);
  }
  const hasCandidate = chunks.some((c) => c.candidates !== undefined);
  if (!hasCandidate) return out;
  const candidate: Candidate = { content: { role: "model", parts }, ...finish, ...candidateExtras, index: 0 };
  return { candidates: [candidate], ...out };
}

function appendPart(parts: Part[], part: Part): void {
  const last = parts[parts.length - 1];
  const isText =
    typeof part.text === "string" && Object.keys(part).every((k) => k === "text" || k === "thought");
  if (
    isText &&
    last !== undefined &&
    typeof last.text === "string" &&
    Boolean(last.thought) === Boolean(part.thought) &&
    last.functionCall === undefined
  ) {
    last.text += part.text;
    return;
  }
  if (isText && part.text === "") return;
  parts.push({ ...part });
}

/** Session constants the OpenAI chunks repeat. */
export interface OpenAIStreamMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

const OPENAI_FINISH: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  BLOCKLIST: "content_filter",
  SPII: "content_filter",
  RECITATION: "content_filter",
};

/**
 * One Gemini chunk as an OpenAI `chat.completion.chunk` SSE event (`index` 0 carries the assistant role). A final
 * chunk whose finishReason is not a real ending (the engine gave up: `OTHER`) becomes an in-band `{"error": …}`
 * event, which the OpenAI SDK raises as an APIError instead of reporting a clean end.
 */
export function encodeOpenAIChunk(
  chunk: GenerateContentResponse,
  index: number,
  meta: OpenAIStreamMeta,
): string {
  const cand = chunk.candidates?.[0];
  const reason = cand?.finishReason ?? chunk.promptFeedback?.blockReason;
  const mapped = reason === undefined ? null : (OPENAI_FINISH[reason] ?? null);
  if (reason !== undefined && mapped === null) {
    return encodeSseEvent({
      error: {
        message: cand?.finishMessage ?? `generation ended: ${reason}`,
        type: "upstream_error",
        code: 502,
      },
    });
  }
  const delta: Record<string, unknown> = {};
  if (index === 0) delta.role = "assistant";
  const toolCalls: unknown[] = [];
  for (const part of cand?.content?.parts ?? []) {
    if (typeof part.text === "string" && part.text.length > 0) {
      const key = part.thought ? "reasoning_content" : "content";
      delta[key] = `${(delta[key] as string | undefined) ?? ""}${part.text}`;
    } else if (part.functionCall) {
      toolCalls.push({
        index: toolCalls.length,
        id: part.functionCall.id ?? `call_${meta.id.slice(-8)}_${index}_${toolCalls.length}`,
        type: "function",
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      });
    }
  }
  if (toolCalls.length > 0) delta.tool_calls = toolCalls;
  const finish = mapped === "stop" && toolCalls.length > 0 ? "tool_calls" : mapped;
  const body: Record<string, unknown> = {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  const usage = chunk.usageMetadata;
  if (usage && reason !== undefined) {
    const completion = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0);
    body.usage = {
      prompt_tokens: usage.promptTokenCount ?? 0,
      completion_tokens: completion,
      total_tokens: usage.totalTokenCount ?? (usage.promptTokenCount ?? 0) + completion,
    };
  }
  return encodeSseEvent(body);
}

export const OPENAI_DONE = "data: [DONE]\r\n\r\n";

/** A gateway error in Google's JSON shape (DESIGN §8). */
export function googleErrorJson(error: GoogleErrorBody): string {
  return JSON.stringify({ error });
}

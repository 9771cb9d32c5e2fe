import type { Content, GenerateContentRequest, GenerationConfig } from "./types";

/**
 * Translates an OpenAI-compatible streaming chat request (Gemini's `/v1beta/openai/chat/completions`) into a native
 * `generateContent` request, so the engine can protect it with native continuations and answer in OpenAI chunks.
 *
 * Only what translates exactly is accepted: text messages (string content or `text` parts) with the roles
 * system/developer, user and assistant, and the common sampling fields. Anything else (tools, images, audio, `n > 1`,
 * response formats, …) returns null and the request is passed through unprotected, rather than silently changed.
 */
export interface OpenAIChatTranslation {
  /** The model as the client named it (`gemini-2.5-flash` or `models/gemini-2.5-flash`). */
  model: string;
  request: GenerateContentRequest;
}

const ALLOWED_FIELDS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "n",
  "user",
  "reasoning_effort",
  "extra_body",
]);

export function openAIChatToGemini(body: unknown): OpenAIChatTranslation | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  if (Object.keys(b).some((k) => !ALLOWED_FIELDS.has(k))) return null;
  if (typeof b.model !== "string" || !Array.isArray(b.messages) || b.stream !== true) return null;
  if (b.n !== undefined && b.n !== 1) return null;
  const contents: Content[] = [];
  const system: string[] = [];
  for (const m of b.messages as unknown[]) {
    if (typeof m !== "object" || m === null) return null;
    const { role, content, ...rest } = m as { role?: unknown; content?: unknown; name?: unknown };
    if (Object.keys(rest).some((k) => k !== "name")) return null;
    const text = messageText(content);
    if (text === null) return null;
    if (role === "system" || role === "developer") system.push(text);
    else if (role === "user" || role === "assistant") {
      const geminiRole = role === "user" ? "user" : "model";
      const last = contents[contents.length - 1];
      if (last?.role === geminiRole) last.parts.push({ text });
      else contents.push({ role: geminiRole, parts: [{ text }] });
    } else return null;
  }
  if (contents.length === 0) return null;
  const config = generationConfig(b);
  if (config === null) return null;
  const request: GenerateContentRequest = { contents };
  if (system.length > 0) request.systemInstruction = { parts: [{ text: system.join("\n\n") }] };
  if (Object.keys(config).length > 0) request.generationConfig = config;
  return { model: b.model, request };
}

function messageText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    const p = part as { type?: unknown; text?: unknown };
    if (p?.type !== "text" || typeof p.text !== "string") return null;
    texts.push(p.text);
  }
  return texts.join("");
}

function generationConfig(b: Record<string, unknown>): GenerationConfig | null {
  const c: GenerationConfig = {};
  const max = b.max_completion_tokens ?? b.max_tokens;
  if (typeof max === "number") c.maxOutputTokens = max;
  if (typeof b.temperature === "number") c.temperature = b.temperature;
  if (typeof b.top_p === "number") c.topP = b.top_p;
  if (typeof b.seed === "number") c.seed = b.seed;
  if (typeof b.presence_penalty === "number") c.presencePenalty = b.presence_penalty;
  if (typeof b.frequency_penalty === "number") c.frequencyPenalty = b.frequency_penalty;
  if (typeof b.stop === "string") c.stopSequences = [b.stop];
  else if (Array.isArray(b.stop)) c.stopSequences = b.stop.filter((s): s is string => typeof s === "string");
  const extra = (b.extra_body as { google?: { thinking_config?: Record<string, unknown> } } | undefined)
    ?.google;
  const thinking = extra?.thinking_config;
  if (thinking) {
    c.thinkingConfig = {
      ...(typeof thinking.include_thoughts === "boolean"
        ? { includeThoughts: thinking.include_thoughts }
        : {}),
      ...(typeof thinking.thinking_budget === "number" ? { thinkingBudget: thinking.thinking_budget } : {}),
    };
  }
  if (b.reasoning_effort !== undefined) {
    const budgets: Record<string, number> = { none: 0, low: 1024, medium: 8192, high: 24576 };
    const budget = typeof b.reasoning_effort === "string" ? budgets[b.reasoning_effort] : undefined;
    if (budget === undefined) return null;
    c.thinkingConfig = { ...c.thinkingConfig, thinkingBudget: budget };
  }
  return c;
}

/**
 * Google OAuth 2.0 access tokens start with this prefix (user and service-account tokens alike). On the native
 * endpoints a Bearer credential is read as such a token, while API keys (`AIza…`) must travel in `x-goog-api-key`.
 */
export const OAUTH_ACCESS_TOKEN_PREFIX = "ya29.";

/**
 * The client's headers for the native `:streamGenerateContent` calls made for an OpenAI-compatible request. The
 * OpenAI SDKs send the Gemini API key as `Authorization: Bearer <key>`, which the native endpoints would read as an
 * OAuth access token and refuse. Rule: a Bearer value that starts with `ya29.` is an OAuth access token and stays a
 * Bearer; any other Bearer value is an API key and moves to `x-goog-api-key` (a client that already sent
 * `x-goog-api-key` keeps its own and the Bearer copy is dropped; an empty one is replaced). Other `Authorization`
 * schemes are left alone.
 */
export function nativeAuthHeaders(headers: readonly (readonly [string, string])[]): [string, string][] {
  const out: [string, string][] = [];
  let key: string | null = null;
  let hasKeyHeader = false;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "x-goog-api-key") {
      // An empty key header is no key: the Bearer's key takes its place.
      if (value.trim() === "") continue;
      hasKeyHeader = true;
    }
    if (lower === "authorization") {
      const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
      const token = bearer?.[1];
      if (token !== undefined && !token.startsWith(OAUTH_ACCESS_TOKEN_PREFIX)) {
        key = token;
        continue;
      }
    }
    out.push([name, value]);
  }
  if (key !== null && !hasKeyHeader) out.push(["x-goog-api-key", key]);
  return out;
}

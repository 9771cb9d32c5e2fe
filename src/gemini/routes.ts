/**
 * Classifies a request on a Gemini endpoint: which ones the anti-truncation engine protects, in which client format
 * it must answer, and how the (always SSE) upstream request path is spelled.
 */
export type GeminiRouteKind =
  /** `…:streamGenerateContent?alt=sse`: Server-Sent Events. */
  | "stream_sse"
  /** `…:streamGenerateContent` without `alt=sse`: one JSON array streamed element by element. */
  | "stream_json_array"
  /** `…:generateContent`: one aggregated JSON response. */
  | "generate"
  /** `…/openai/chat/completions` with `stream: true`: OpenAI `chat.completion.chunk` SSE. */
  | "openai_chat_stream"
  /** Everything else (models, countTokens, embeddings, files, cachedContents, …): forwarded untouched. */
  | "passthrough";

export interface GeminiRoute {
  kind: GeminiRouteKind;
  /** The model path segment (`models/gemini-2.5-pro`, `tunedModels/x`), when the path names one. */
  model: string | null;
}

const GENERATE_PATH = /^(.*\/)((?:models|tunedModels)\/[^/:]+):(streamGenerateContent|generateContent)$/;
const OPENAI_CHAT_PATH = /\/openai\/chat\/completions$/;

/**
 * `rest` is the path after the endpoint prefix (`/v1beta/models/x:streamGenerateContent`), `search` the query with
 * its `?`. The OpenAI-compatible route is protected only when the body asks for a stream, so the caller passes
 * whether it does (`openaiStream`); it is ignored elsewhere.
 */
export function classifyGeminiRoute(
  method: string,
  rest: string,
  search: string,
  openaiStream = false,
): GeminiRoute {
  if (method.toUpperCase() !== "POST") return { kind: "passthrough", model: null };
  const m = GENERATE_PATH.exec(rest);
  if (m) {
    const model = m[2] ?? null;
    if (m[3] === "generateContent") return { kind: "generate", model };
    const alt = new URLSearchParams(search).get("alt");
    return { kind: alt === "sse" ? "stream_sse" : "stream_json_array", model };
  }
  if (OPENAI_CHAT_PATH.test(rest)) {
    return { kind: openaiStream ? "openai_chat_stream" : "passthrough", model: null };
  }
  return { kind: "passthrough", model: null };
}

/** `true` for the paths the OpenAI-compatible check needs the body for (so callers read it only then). */
export function isOpenAIChatPath(rest: string): boolean {
  return OPENAI_CHAT_PATH.test(rest);
}

/**
 * The upstream path and query for a protected native route: always `:streamGenerateContent?alt=sse`, keeping every
 * other query parameter (e.g. `key`) byte-exact and in order.
 */
export function upstreamStreamTarget(rest: string, search: string): { rest: string; search: string } {
  const m = GENERATE_PATH.exec(rest);
  if (!m) throw new Error(`not a generate path: ${rest}`);
  const path = `${m[1]}${m[2]}:streamGenerateContent`;
  const params = search.startsWith("?") ? search.slice(1) : search;
  const kept = params.split("&").filter((p) => p.length > 0 && !/^alt(=|$)/.test(p));
  kept.push("alt=sse");
  return { rest: path, search: `?${kept.join("&")}` };
}

/**
 * The native stream path for a model named in an OpenAI-compatible request (`gemini-2.5-flash` or
 * `models/gemini-2.5-flash`), under the API version the client used (`/v1beta/openai/…` → `/v1beta/models/…`).
 */
export function nativeStreamTargetForOpenAI(
  rest: string,
  search: string,
  model: string,
): { rest: string; search: string } {
  const prefix = rest.replace(OPENAI_CHAT_PATH, "");
  const name = model.includes("/") ? model : `models/${model}`;
  return upstreamStreamTarget(`${prefix}/${name}:streamGenerateContent`, search);
}

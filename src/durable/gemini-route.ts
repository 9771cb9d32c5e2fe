/**
 * The Worker-facing side of Gemini anti-truncation (issue 5): decides whether a request on a Gemini endpoint gets the
 * engine, starts a `GeminiSession` object for it, and re-attaches clients to running sessions. Unprotected requests
 * are sent through `upstream-pool.ts` `dispatch()` unchanged.
 */

import { DEFAULT_GRACE_MS } from "../gemini/engine-config";
import type { EngineBounds } from "../gemini/engine-types";
import { nativeAuthHeaders, openAIChatToGemini } from "../gemini/openai-compat";
import { resolveRetryPrompts } from "../gemini/prompts";
import {
  classifyGeminiRoute,
  isOpenAIChatPath,
  nativeStreamTargetForOpenAI,
  upstreamStreamTarget,
} from "../gemini/routes";
import type { GenerateContentRequest, RetryPrompts } from "../gemini/types";
import type { EndpointConfig } from "../transport/endpoint";
import { googleStatusFor } from "../transport/errors";
import type { ClientFormat } from "./gemini-client-stream";
import { unframeResponse } from "./gemini-head";
import type { SessionStart } from "./gemini-session";
import { readSessionCounters, type SessionCounters } from "./session-counters";
import { dispatch } from "./upstream-pool";

export interface GeminiRouteSettings {
  /** `GEMINI_SPECIAL_HANDLING_ENABLED`. */
  enabled: boolean;
  /** `AGGRESSIVE_FALLBACK`. */
  aggressiveFallback: boolean;
  /** `GEMINI_RETRY_PROMPT_CN/EN/JA/KO` as set by the operator (unset languages use the built-in prompts). */
  retryPromptOverrides: Partial<RetryPrompts>;
  /** Engine bounds; unset ones use `DEFAULT_ENGINE_BOUNDS`. */
  bounds?: Partial<EngineBounds>;
  /** Grace period after the client left (default `DEFAULT_GRACE_MS`). */
  graceMs?: number;
  debug?: boolean;
}

export interface GeminiRouteTarget {
  endpoint: EndpointConfig;
  /** Path after the endpoint segment, byte-exact. */
  rest: string;
  /** Query including `?`, or `""`. */
  search: string;
}

const FORMAT_OF = {
  stream_sse: "sse",
  stream_json_array: "json_array",
  generate: "generate",
  openai_chat_stream: "openai",
} as const satisfies Record<string, ClientFormat>;

/**
 * Handles any request on a Gemini endpoint: protected routes (`routes.ts`) run in a new `GeminiSession`, everything
 * else is forwarded unchanged. The protected response carries `x-proxy-session-id`.
 */
export async function handleGeminiRequest(
  env: Env,
  ctx: ExecutionContext,
  request: Request,
  route: GeminiRouteTarget,
  settings: GeminiRouteSettings,
): Promise<Response> {
  const { endpoint, rest, search } = route;
  const method = request.method.toUpperCase();
  const mayProtect = settings.enabled && endpoint.gemini && method === "POST";
  if (
    !mayProtect ||
    classifyGeminiRoute(method, rest, search, isOpenAIChatPath(rest)).kind === "passthrough"
  ) {
    return passThrough(env, ctx, request, route, settings, request.body);
  }
  const bodyText = await request.text();
  const body = parseJson(bodyText);
  const kind = classifyGeminiRoute(
    method,
    rest,
    search,
    (body as { stream?: unknown } | null)?.stream === true,
  ).kind;
  let start: Omit<SessionStart, "format"> & { format: ClientFormat };
  const common = {
    endpoint,
    headers: [...request.headers] as [string, string][],
    prompts: resolveRetryPrompts(settings.retryPromptOverrides),
    bounds: settings.bounds ?? {},
    graceMs: settings.graceMs ?? DEFAULT_GRACE_MS,
    aggressiveFallback: settings.aggressiveFallback,
    debug: settings.debug ?? false,
  };
  if (kind === "openai_chat_stream") {
    const translated = openAIChatToGemini(body);
    if (translated === null) return passThrough(env, ctx, request, route, settings, bodyText);
    start = {
      ...common,
      format: "openai",
      headers: nativeAuthHeaders(common.headers),
      request: translated.request,
      upstream: nativeStreamTargetForOpenAI(rest, search, translated.model),
      openai: {
        id: `chatcmpl-${crypto.randomUUID()}`,
        created: Math.floor(Date.now() / 1000),
        model: translated.model,
      },
    };
  } else if (kind !== "passthrough" && isProtectable(body)) {
    start = {
      ...common,
      format: FORMAT_OF[kind],
      request: body,
      upstream: upstreamStreamTarget(rest, search),
    };
  } else {
    return passThrough(env, ctx, request, route, settings, bodyText);
  }
  const stub = env.GEMINI_SESSION.get(env.GEMINI_SESSION.newUniqueId());
  const framed = await stub.fetch("https://gemini-session/start", {
    method: "POST",
    body: JSON.stringify(start),
    headers: { "content-type": "application/json" },
    signal: request.signal,
  });
  if (framed.headers.get("content-type") !== "application/octet-stream" || framed.body === null)
    return framed;
  return unframeResponse(framed.body);
}

/** `GET /sessions/{id}?from={n}`: the events of session `id` from event `from` on (then the rest as they come). */
export async function reattachGeminiSession(env: Env, id: string, from: number): Promise<Response> {
  if (!/^[0-9a-f]{64}$/.test(id)) return sessionError(404, "no such Gemini session");
  if (!Number.isInteger(from) || from < 0) return sessionError(400, "from must be a non-negative integer");
  let objectId: DurableObjectId;
  try {
    objectId = env.GEMINI_SESSION.idFromString(id);
  } catch {
    return sessionError(404, "no such Gemini session");
  }
  return env.GEMINI_SESSION.get(objectId).fetch(`https://gemini-session/attach?from=${from}`);
}

/** The `/health` `sessions.gemini` counters (active, completed, recovered, continuations, failed). */
export async function readGeminiSessionCounters(env: Env): Promise<SessionCounters["gemini"]> {
  return (await readSessionCounters(env)).gemini;
}

function isProtectable(body: unknown): body is GenerateContentRequest {
  if (typeof body !== "object" || body === null) return false;
  const b = body as GenerateContentRequest;
  if (!Array.isArray(b.contents)) return false;
  // Several candidates cannot be continued as one answer: forwarded unprotected.
  const count = b.generationConfig?.candidateCount;
  return count === undefined || count === 1;
}

async function passThrough(
  env: Env,
  ctx: ExecutionContext,
  request: Request,
  route: GeminiRouteTarget,
  settings: GeminiRouteSettings,
  body: ReadableStream<Uint8Array> | string | null,
): Promise<Response> {
  const result = await dispatch(
    route.endpoint,
    {
      method: request.method,
      rest: route.rest,
      search: route.search,
      headers: new Headers(request.headers),
      body: typeof body === "string" ? new TextEncoder().encode(body) : body,
    },
    {
      env,
      waitUntil: (p) => ctx.waitUntil(p),
      aggressiveFallback: settings.aggressiveFallback,
      signal: request.signal,
    },
  );
  return result.response;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function sessionError(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: { code: status, status: googleStatusFor(status), message } }), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8", "x-proxy-error": "gemini_session" },
  });
}

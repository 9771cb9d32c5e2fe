/**
 * The Worker-facing side of Gemini anti-truncation (issue 5): decides whether a request on a Gemini endpoint gets the
 * engine, starts it (the Worker makes the first attempt and feeds a `GeminiSession` object, `gemini-fast-start.ts`),
 * and re-attaches clients to running sessions. Unprotected requests
 * are sent through `failover.ts` `dispatch()` unchanged.
 */

import { DEFAULT_GRACE_MS } from "../../gemini/engine-config";
import type { EngineBounds } from "../../gemini/engine-types";
import { nativeAuthHeaders, openAIChatToGemini } from "../../gemini/openai-compat";
import {
  classifyGeminiRoute,
  isOpenAIChatPath,
  nativeStreamTargetForOpenAI,
  upstreamStreamTarget,
} from "../../gemini/routes";
import type { RetryPrompts } from "../../gemini/types";
import { resolveRetryPrompts } from "../../stream/prompts";
import type { EndpointConfig } from "../../transport/endpoint";
import { HeldBody, type RequestBody } from "../../transport/held-body";
import { dispatch } from "../failover/failover";
import type { HealthViews } from "../health/health-snapshot";
import { readSessionCounters, type SessionCounters } from "../health/session-counters";
import { sessionErrorResponse } from "../session-errors";
import { unframeResponse } from "../session-head";
import {
  BUFFERED_BODY_LIMIT_BYTES,
  declaredLength,
  RequestBodyTooLargeError,
  readCappedBody,
  readUpTo,
} from "./capped-body";
import type { ClientFormat } from "./gemini-client-stream";
import { fastStart } from "./gemini-fast-start";
import type { SessionStart } from "./gemini-session";
import { protectableRequest, START_OUTCOME_HEADER, sessionStartInit } from "./gemini-start";

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
  /**
   * Health views of the request's region (the Worker's shard, `health-region.ts`) for what the Worker sends itself:
   * pass-through requests and a fast start's first attempt. Default: the isolate's unsharded views.
   */
  views?: HealthViews;
  debug?: boolean;
}

export interface GeminiRouteTarget {
  endpoint: EndpointConfig;
  /** Path after the endpoint segment, byte-exact. */
  rest: string;
  /** Query including `?`, or `""`. */
  search: string;
}

/**
 * Largest request body a protected stream starts with in the Worker (issue 13, `gemini-fast-start.ts`): the Worker
 * then holds the body while it sends the first attempt, and feeds the object a copy. Larger bodies (and bodies without
 * a `Content-Length`) keep the object-first start, which streams the body into the object's one copy: measured with
 * `bench/memory.mjs`, a 24 MiB prompt through the fast start grew the process by 2.1–3.0× the body (5.2× on its
 * first request) against 0.8–1.8× object-first. The time to first event of such a request is its upload's anyway.
 */
export const FAST_START_MAX_BODY_BYTES = 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
  // A protected route holds the whole body (to continue it later): capped, and refused at once when its declared
  // length is over the cap.
  const declared = declaredLength(request.headers);
  if (declared !== null && declared > BUFFERED_BODY_LIMIT_BYTES) {
    await request.body?.cancel().catch(() => {});
    throw new RequestBodyTooLargeError(BUFFERED_BODY_LIMIT_BYTES, declared);
  }
  const common = {
    endpoint,
    headers: [...request.headers] as [string, string][],
    prompts: resolveRetryPrompts(settings.retryPromptOverrides),
    bounds: settings.bounds ?? {},
    graceMs: settings.graceMs ?? DEFAULT_GRACE_MS,
    aggressiveFallback: settings.aggressiveFallback,
    debug: settings.debug ?? false,
  };
  let start: SessionStart;
  let body: Uint8Array;
  let bytes: Uint8Array;
  if (isOpenAIChatPath(rest)) {
    // Read here: whether it is protected, and what it becomes, depends on the body.
    bytes = await readCappedBody(request.body, declared, BUFFERED_BODY_LIMIT_BYTES);
    const translated = translateOpenAI(bytes);
    if (translated === null) return passThrough(env, ctx, request, route, settings, bytesBody(bytes));
    body = translated.bytes;
    start = {
      ...common,
      format: "openai",
      headers: nativeAuthHeaders(common.headers),
      upstream: nativeStreamTargetForOpenAI(rest, search, translated.model),
      openai: {
        id: `chatcmpl-${crypto.randomUUID()}`,
        created: Math.floor(Date.now() / 1000),
        model: translated.model,
      },
    };
  } else {
    const kind = classifyGeminiRoute(method, rest, search).kind;
    if (kind === "passthrough" || kind === "openai_chat_stream") {
      return passThrough(env, ctx, request, route, settings, request.body);
    }
    start = { ...common, format: FORMAT_OF[kind], upstream: upstreamStreamTarget(rest, search) };
    // A large body streams into the object, which holds the only copy: see FAST_START_MAX_BODY_BYTES.
    if (declared !== null && declared > FAST_START_MAX_BODY_BYTES) {
      return objectStart(env, ctx, request, route, settings, start, request.body, declared);
    }
    if (declared === null) {
      const read = await readUpTo(request.body, FAST_START_MAX_BODY_BYTES);
      if ("stream" in read) return objectStart(env, ctx, request, route, settings, start, read.stream, null);
      bytes = read.whole;
    } else bytes = await readCappedBody(request.body, declared, BUFFERED_BODY_LIMIT_BYTES);
    body = bytes;
  }
  if (body.length > FAST_START_MAX_BODY_BYTES) {
    return objectStart(env, ctx, request, route, settings, start, body, body.length);
  }
  // The engine cannot continue it (not JSON it can index, several candidates): forwarded as it came.
  const encoded = protectableRequest(body);
  if (encoded === null) return passThrough(env, ctx, request, route, settings, bytesBody(bytes));
  return fastStart(env, ctx, request.signal, start, { request: encoded, bytes: body }, settings.views);
}

/**
 * The object-first start (issue 5), for requests over `FAST_START_MAX_BODY_BYTES`: the body goes to a new
 * `GeminiSession`, which reads it (capped), decides whether it can protect it, makes every attempt and answers with
 * the framed client response (`session-head.ts`).
 */
async function objectStart(
  env: Env,
  ctx: ExecutionContext,
  request: Request,
  route: GeminiRouteTarget,
  settings: GeminiRouteSettings,
  start: SessionStart,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  length: number | null,
): Promise<Response> {
  const stub = env.GEMINI_SESSION.get(env.GEMINI_SESSION.newUniqueId());
  const framed = await stub.fetch("https://gemini-session/start", {
    method: "POST",
    ...sessionStartInit(start, body, length),
    signal: request.signal,
  });
  const outcome = framed.headers.get(START_OUTCOME_HEADER);
  if (outcome === "too-large") {
    await framed.body?.cancel().catch(() => {});
    throw new RequestBodyTooLargeError(BUFFERED_BODY_LIMIT_BYTES, null);
  }
  // The engine cannot continue it (not JSON it can index, several candidates): forwarded as it came.
  if (outcome === "not-protectable") return passThrough(env, ctx, request, route, settings, framed.body);
  if (framed.headers.get("content-type") !== "application/octet-stream" || framed.body === null)
    return framed;
  return unframeResponse(framed.body);
}

/**
 * An OpenAI-compatible streaming request the engine can protect, as the native request's bytes; null for anything
 * else (not JSON, not a stream, fields that do not translate exactly), which is forwarded unchanged. The parsed body
 * lives only inside this call.
 */
function translateOpenAI(bytes: Uint8Array): { bytes: Uint8Array; model: string } | null {
  const body = parseJson(decoder.decode(bytes));
  if ((body as { stream?: unknown } | null)?.stream !== true) return null;
  const translated = openAIChatToGemini(body);
  if (translated === null) return null;
  return { bytes: encoder.encode(JSON.stringify(translated.request)), model: translated.model };
}

/** A body the route already holds, for a pass-through: re-sent from the same bytes on fallback or failover. */
function bytesBody(bytes: Uint8Array): HeldBody {
  return new HeldBody([bytes]);
}

/** `GET /sessions/{id}?from={n}`: the events of session `id` from event `from` on (then the rest as they come). */
export async function reattachGeminiSession(env: Env, id: string, from: number): Promise<Response> {
  if (!/^[0-9a-f]{64}$/.test(id)) return sessionErrorResponse("gemini", 404, "no such Gemini session");
  if (!Number.isInteger(from) || from < 0)
    return sessionErrorResponse("gemini", 400, "from must be a non-negative integer");
  let objectId: DurableObjectId;
  try {
    objectId = env.GEMINI_SESSION.idFromString(id);
  } catch {
    return sessionErrorResponse("gemini", 404, "no such Gemini session");
  }
  return env.GEMINI_SESSION.get(objectId).fetch(`https://gemini-session/attach?from=${from}`);
}

/** The `/health` `sessions.gemini` counters (active, completed, recovered, continuations, failed). */
export async function readGeminiSessionCounters(env: Env): Promise<SessionCounters["gemini"]> {
  return (await readSessionCounters(env)).gemini;
}

async function passThrough(
  env: Env,
  ctx: ExecutionContext,
  request: Request,
  route: GeminiRouteTarget,
  settings: GeminiRouteSettings,
  body: RequestBody,
): Promise<Response> {
  const result = await dispatch(
    route.endpoint,
    {
      method: request.method,
      rest: route.rest,
      search: route.search,
      headers: new Headers(request.headers),
      body,
    },
    {
      env,
      waitUntil: (p) => ctx.waitUntil(p),
      aggressiveFallback: settings.aggressiveFallback,
      ...(settings.views ? { views: settings.views } : {}),
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

/**
 * The Worker-facing side of stream repair for OpenAI chat completions and Anthropic Messages (issue 12): decides
 * whether a request gets a `StreamSession`, starts one, and re-attaches clients (`GET /sessions/{id}`) to stream and
 * Gemini sessions alike.
 *
 * Repaired: `POST …/chat/completions` and `POST …/messages` with `"stream": true` (chat: one choice) on an endpoint
 * whose repair is on (`ENDPOINTS.<name>.repair`, else `STREAM_REPAIR_ENABLED`), not a Gemini endpoint, and a body of
 * at most `REPAIR_BODY_LIMIT_BYTES`. Everything else goes on through `dispatch()` with the stream guard only.
 */
import { isRepairableMessagesRequest } from "../../anthropic/messages-repair";
import type { RetryPrompts } from "../../gemini/types";
import { isRepairableChatRequest } from "../../openai/chat-repair";
import type { StreamGuardConfig } from "../../stream/guard-config";
import { resolveRetryPrompts } from "../../stream/prompts";
import type { RepairBounds } from "../../stream/repair-types";
import { concatBytes } from "../../transport/bytes";
import type { EndpointConfig } from "../../transport/endpoint";
import { reattachGeminiSession } from "../gemini-session/gemini-route";
import { unframeResponse } from "../session-head";
import type { RepairWireFormat, StreamSessionStart } from "./stream-session";

/** Largest request body a repair session takes (it is held for every attempt); larger ones are guarded only. */
export const REPAIR_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/** How long a session keeps generating after its last client left, waiting for a re-attach. */
export const DEFAULT_REPAIR_GRACE_MS = 15_000;

export interface RepairSettings {
  /** `STREAM_REPAIR_ENABLED`: repair where the endpoint does not say. */
  enabled: boolean;
  bounds: Partial<RepairBounds>;
  graceMs?: number;
  retryPromptOverrides: Partial<RetryPrompts>;
  aggressiveFallback: boolean;
  guard: StreamGuardConfig;
  debug: boolean;
}

export interface RepairRoute {
  endpoint: EndpointConfig;
  rest: string;
  search: string;
}

/** The wire format a request path is repaired as, when repair is on for the endpoint. */
export function repairFormatFor(
  method: string,
  route: RepairRoute,
  settings: Pick<RepairSettings, "enabled">,
): RepairWireFormat | null {
  if (method !== "POST" || route.endpoint.gemini) return null;
  if (!(route.endpoint.repair ?? settings.enabled)) return null;
  let end = route.rest.length;
  while (end > 0 && route.rest.charCodeAt(end - 1) === 47 /* / */) end--;
  const path = route.rest.slice(0, end);
  if (path.endsWith("/chat/completions")) return "openai-chat";
  if (path.endsWith("/messages")) return "anthropic-messages";
  return null;
}

/**
 * Reads the request body for a possible repair. `bytes` when it is at most the limit; otherwise `stream` replays what
 * was read and the rest unchanged (the request goes on guarded only).
 */
export async function readRepairBody(
  request: Request,
): Promise<{ bytes: Uint8Array } | { stream: ReadableStream<Uint8Array> | null }> {
  const body = request.body;
  if (body === null) return { bytes: new Uint8Array(0) };
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > REPAIR_BODY_LIMIT_BYTES) return { stream: body };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const step = await reader.read();
    if (step.done) break;
    chunks.push(step.value);
    total += step.value.byteLength;
    if (total > REPAIR_BODY_LIMIT_BYTES) {
      const rest = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
      return { stream: rest };
    }
  }
  return { bytes: concatBytes(chunks, total) };
}

const decoder = new TextDecoder();

/**
 * Starts a repair session for `bytes` when the request is one the engine can repair; null otherwise (the caller
 * forwards the same bytes guarded only). The response carries `x-proxy-session-id`.
 */
export async function startRepairSession(
  env: Env,
  request: Request,
  format: RepairWireFormat,
  route: RepairRoute,
  bytes: Uint8Array,
  settings: RepairSettings,
): Promise<Response | null> {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  const repairable =
    format === "openai-chat" ? isRepairableChatRequest(body) : isRepairableMessagesRequest(body);
  if (!repairable) return null;
  const start: StreamSessionStart = {
    format,
    endpoint: route.endpoint,
    upstream: { rest: route.rest, search: route.search },
    headers: [...request.headers] as [string, string][],
    prompts: resolveRetryPrompts(settings.retryPromptOverrides),
    bounds: settings.bounds,
    graceMs: settings.graceMs ?? DEFAULT_REPAIR_GRACE_MS,
    aggressiveFallback: settings.aggressiveFallback,
    continuation: route.endpoint.continuation ?? "prompt",
    guard: settings.guard,
    debug: settings.debug,
  };
  const stub = env.STREAM_SESSION.get(env.STREAM_SESSION.newUniqueId());
  const framed = await stub.fetch("https://stream-session/start", {
    method: "POST",
    body: JSON.stringify({ start, request: body }),
    headers: { "content-type": "application/json" },
    signal: request.signal,
  });
  if (framed.headers.get("content-type") !== "application/octet-stream" || framed.body === null)
    return framed;
  return unframeResponse(framed.body);
}

/**
 * `GET /sessions/{id}?from={n}`: a stream session's events from `from` on, or a Gemini session's. An id names an
 * object of one namespace only (the other refuses it), so the id itself says which kind of session it is.
 */
export async function reattachSession(env: Env, id: string, from: number): Promise<Response> {
  if (/^[0-9a-f]{64}$/.test(id)) {
    let objectId: DurableObjectId | null = null;
    try {
      objectId = env.STREAM_SESSION.idFromString(id);
    } catch {
      objectId = null;
    }
    if (objectId !== null) {
      return env.STREAM_SESSION.get(objectId).fetch(`https://stream-session/attach?from=${from}`);
    }
  }
  return reattachGeminiSession(env, id, from);
}

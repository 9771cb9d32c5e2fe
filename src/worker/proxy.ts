/**
 * The proxy routes (DESIGN §4): presets and the generic proxy, plain HTTP and WebSocket upgrades.
 * Plain request/response traffic stays in the Worker; Gemini streams and WebSockets are handed to
 * their session objects.
 */

import { dispatch } from "../durable/failover/failover";
import { openWithPoolKey } from "../durable/failover/key-dispatch";
import { streamFormatFor, streamGuardInspector } from "../durable/failover/stream-guard-inspector";
import { handleGeminiRequest } from "../durable/gemini-session/gemini-route";
import { isWebSocketUpgrade, openRelay, UpgradeRequiredError } from "../durable/relay/relay-route";
import {
  readRepairBody,
  repairFormatFor,
  startRepairSession,
} from "../durable/stream-session/stream-session-route";
import { egress } from "../transport/egress";
import type { EndpointConfig, TransportKind } from "../transport/endpoint";
import { type ExtraHeaderDrops, withoutExtraHeaders } from "../transport/header-policy";
import { checkGenericTarget } from "./address-guard";
import { TOKEN_HEADER } from "./auth";
import type { GatewayContext } from "./context";
import { requestHealthViews } from "./health-region";
import { rawSearch, resolveProxyRoute } from "./route";

export async function handleProxy(g: GatewayContext): Promise<Response> {
  const { url, config } = g;
  const raw = withoutOperatorHeaders(g.raw, config.extraDroppedHeaders);
  const route = resolveProxyRoute(url.pathname, config, raw.headers.get(TOKEN_HEADER));
  const isUpgrade = isWebSocketUpgrade(raw);
  // The query exactly as the client wrote it (a bare `?` kept), worked out once for every route below.
  const search = rawSearch(url);

  if (route.kind === "generic") {
    const { url: target } = checkGenericTarget(route.scheme, route.hostPort, config.allowPrivateTargets);
    g.log.route = "generic";
    g.log.target_host = target.host;
    if (isUpgrade) {
      const scheme = route.scheme === "https" || route.scheme === "wss" ? "wss" : "ws";
      return relay(g, raw, `${scheme}://${target.host}${route.rest}${search}`, "socket", "generic", false);
    }
    if (route.scheme === "ws" || route.scheme === "wss") {
      throw new UpgradeRequiredError(
        `/${route.scheme}/ routes relay WebSockets: send a GET with Upgrade: websocket`,
      );
    }
    // Build from the guard's normalised host, never the raw text: a resolver could read `0x7f.1`
    // differently from the URL parser the guard checked.
    const result = await g.timing.around(() =>
      egress(
        {
          method: raw.method,
          url: `${route.scheme}://${target.host}${route.rest}${search}`,
          headers: raw.headers,
          body: raw.body,
          signal: raw.signal,
        },
        { transport: "socket", aggressiveFallback: config.aggressiveFallback },
      ),
    );
    g.log.transport = result.transport;
    g.log.fallback = result.fallbackReason;
    return result.response;
  }

  const { endpoint } = route;
  g.log.route = "preset";
  g.log.endpoint = endpoint.name;
  if (isUpgrade) return relayPreset(g, raw, endpoint, route.rest, search);
  if (endpoint.gemini) {
    g.log.route = "gemini";
    // The session object's own work (reading the request, starting, its upstream call) counts as
    // `gw-upstream` in Server-Timing: the Worker only sees when the object's answer head is back.
    return g.timing.around(() =>
      handleGeminiRequest(
        g.env,
        g.ctx,
        raw,
        { endpoint, rest: route.rest, search },
        {
          enabled: config.geminiSpecialHandling,
          aggressiveFallback: config.aggressiveFallback,
          retryPromptOverrides: config.retryPromptOverrides,
          bounds: config.geminiEngine.bounds,
          ...(config.geminiEngine.graceMs !== undefined ? { graceMs: config.geminiEngine.graceMs } : {}),
          debug: config.debug,
          views: requestHealthViews(g),
        },
      ),
    );
  }
  // Every OpenAI- or Anthropic-style streaming route is watched by the integrity guard (issue 12);
  // chat completions and Messages streams are repaired in a session where repair is on.
  const streamFormat = streamFormatFor(raw.method, route.rest);
  const repairRoute = { endpoint, rest: route.rest, search };
  const repairFormat = repairFormatFor(raw.method, repairRoute, config.streamRepair);
  let body: ReadableStream<Uint8Array> | Uint8Array | null = raw.body;
  if (repairFormat !== null) {
    const read = await readRepairBody(raw);
    if ("bytes" in read) {
      body = read.bytes;
      const { enabled, bounds, graceMs } = config.streamRepair;
      const session = await g.timing.around(() =>
        startRepairSession(g.env, raw, repairFormat, repairRoute, read.bytes, {
          enabled,
          bounds,
          ...(graceMs !== undefined ? { graceMs } : {}),
          retryPromptOverrides: config.retryPromptOverrides,
          aggressiveFallback: config.aggressiveFallback,
          guard: config.streamGuard,
          debug: config.debug,
        }),
      );
      if (session !== null) {
        g.log.route = "stream_session";
        return session;
      }
    } else body = read.stream;
  }
  const result = await dispatch(
    endpoint,
    { method: raw.method, rest: route.rest, search, headers: raw.headers, body },
    {
      env: g.env,
      waitUntil: (promise) => g.ctx.waitUntil(promise),
      aggressiveFallback: config.aggressiveFallback,
      signal: raw.signal,
      views: requestHealthViews(g), // the health shard of the request's region
      // Every attempt's egress call is marked for Server-Timing (the first start, the last answer).
      egress: (call, options) => g.timing.around(() => egress(call, options)),
      // The pool key of the last attempt, by fingerprint only.
      onKey: (fingerprint) => {
        g.log.key = fingerprint;
      },
      ...(streamFormat
        ? { inspect: streamGuardInspector(streamFormat, config.streamGuard, raw.signal) }
        : {}),
    },
  );
  g.log.target_host = new URL(result.target.url).host;
  g.log.transport = result.transport;
  g.log.fallback = result.fallbackReason;
  g.log.attempts = result.attempts;
  return result.response;
}

/**
 * A WebSocket upgrade on a preset goes to the preset's target with `https → wss` (DESIGN §4), so
 * `/gemini/ws/…BidiGenerateContent` reaches the Gemini Live API. A relay is one long session, not a
 * request to fail over, so it takes the first target.
 */
function relayPreset(
  g: GatewayContext,
  raw: Request,
  endpoint: EndpointConfig,
  rest: string,
  search: string,
): Promise<Response> {
  const target = new URL(endpoint.targets[0]!.url);
  const scheme = target.protocol === "https:" ? "wss" : "ws";
  const base = target.pathname === "/" ? "" : target.pathname;
  const live = endpoint.gemini && rest.includes("BidiGenerateContent");
  // With a key pool, the handshake carries a pool key (and a refused key moves on to another).
  return openWithPoolKey(
    endpoint,
    g.env,
    (p) => g.ctx.waitUntil(p),
    raw.headers,
    search,
    (headers, keyedSearch) =>
      relay(
        g,
        new Request(raw, { headers }),
        `${scheme}://${target.host}${base}${rest}${keyedSearch}`,
        endpoint.transport,
        endpoint.name,
        live,
      ),
    requestHealthViews(g),
  );
}

function relay(
  g: GatewayContext,
  raw: Request,
  upstreamUrl: string,
  transport: TransportKind,
  endpointName: string,
  geminiLive: boolean,
): Promise<Response> {
  g.log.route = "websocket";
  g.log.target_host = new URL(upstreamUrl).host;
  g.log.transport = transport;
  return g.timing.around(() => openRelay(g.env, raw, { upstreamUrl, transport, endpointName, geminiLive }));
}

/**
 * The client's request without the headers the operator added to the policy (`DROP_REQUEST_HEADERS`),
 * removed here once so every route (HTTP, Gemini sessions, WebSocket relays) is covered. The same
 * request when there is nothing to remove; the copy keeps the body and the client-disconnect signal.
 */
function withoutOperatorHeaders(raw: Request, extra: ExtraHeaderDrops): Request {
  const headers = withoutExtraHeaders(raw.headers, extra);
  return headers === null ? raw : new Request(raw, { headers, signal: raw.signal });
}

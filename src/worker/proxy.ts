/**
 * The proxy routes (DESIGN §4): presets and the generic proxy, plain HTTP and WebSocket upgrades.
 * Plain request/response traffic stays in the Worker; Gemini streams and WebSockets are handed to
 * their session objects.
 */
import { dispatch } from "../durable/upstream-pool";
import { egress } from "../transport/egress";
import { GatewayError } from "../transport/errors";
import { checkGenericTarget } from "./address-guard";
import { TOKEN_HEADER } from "./auth";
import type { GatewayContext } from "./context";
import { resolveProxyRoute } from "./route";

export async function handleProxy(g: GatewayContext): Promise<Response> {
  const { raw, url, config } = g;
  const route = resolveProxyRoute(url.pathname, config, raw.headers.get(TOKEN_HEADER));
  const isUpgrade = raw.headers.get("upgrade")?.toLowerCase() === "websocket";

  if (route.kind === "generic") {
    const { url: target } = checkGenericTarget(route.scheme, route.hostPort, config.allowPrivateTargets);
    g.log.route = "generic";
    g.log.target_host = target.host;
    if (route.scheme === "ws" || route.scheme === "wss" || isUpgrade) {
      throw new GatewayError(501, "not_implemented", "WebSocket relay is not available yet");
    }
    // Build from the guard's normalised host, never the raw text: a resolver could read `0x7f.1`
    // differently from the URL parser the guard checked.
    const result = await egress(
      {
        method: raw.method,
        url: `${route.scheme}://${target.host}${route.rest}${url.search}`,
        headers: raw.headers,
        body: raw.body,
        signal: raw.signal,
      },
      { transport: "socket", aggressiveFallback: config.aggressiveFallback },
    );
    g.log.transport = result.transport;
    g.log.fallback = result.fallbackReason;
    return result.response;
  }

  const { endpoint } = route;
  g.log.route = "preset";
  g.log.endpoint = endpoint.name;
  if (isUpgrade) throw new GatewayError(501, "not_implemented", "WebSocket relay is not available yet");
  const result = await dispatch(
    endpoint,
    { method: raw.method, rest: route.rest, search: url.search, headers: raw.headers, body: raw.body },
    {
      env: g.env,
      waitUntil: (promise) => g.ctx.waitUntil(promise),
      aggressiveFallback: config.aggressiveFallback,
      signal: raw.signal,
    },
  );
  g.log.target_host = new URL(result.target.url).host;
  g.log.transport = result.transport;
  g.log.fallback = result.fallbackReason;
  g.log.attempts = result.attempts;
  return result.response;
}

/**
 * The proxy routes (DESIGN §4): presets and the generic proxy, plain HTTP and WebSocket upgrades.
 * Plain request/response traffic stays in the Worker; Gemini streams and WebSockets are handed to
 * their session objects.
 */
import { joinTargetUrl } from "../transport/endpoint";
import { BadRequestError, GatewayError } from "../transport/errors";
import { fetchEgress } from "../transport/fetch-egress";
import { DEFAULT_EGRESS_TIMEOUTS } from "../transport/timeouts";
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
    const upstreamUrl = `${route.scheme}://${target.host}${route.rest}${url.search}`;
    return send(g, upstreamUrl);
  }

  const { endpoint } = route;
  g.log.route = "preset";
  g.log.endpoint = endpoint.name;
  if (isUpgrade) throw new GatewayError(501, "not_implemented", "WebSocket relay is not available yet");
  const target = endpoint.targets[0];
  if (!target) throw new BadRequestError(`endpoint ${endpoint.name} has no targets`);
  g.log.target_host = new URL(target.url).host;
  return send(g, joinTargetUrl(target.url, route.rest, url.search));
}

async function send(g: GatewayContext, upstreamUrl: string): Promise<Response> {
  const response = await fetchEgress(
    {
      method: g.raw.method,
      url: upstreamUrl,
      headers: g.raw.headers,
      body: g.raw.body,
      signal: g.raw.signal,
    },
    DEFAULT_EGRESS_TIMEOUTS,
  );
  g.log.transport = "fetch";
  return response;
}

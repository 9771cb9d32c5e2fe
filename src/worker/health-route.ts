/** `GET /health` (DESIGN §7): per-target health of every endpoint and the session counters. */
import { buildHealthReport } from "../durable/health-report";
import { readRegisteredEndpoints } from "../durable/session-counters";
import { BadRequestError, UnauthorizedError } from "../transport/errors";
import { isValidToken, TOKEN_HEADER } from "./auth";
import type { GatewayContext } from "./context";

/**
 * `pathToken` is set for `/{token}/health`. With `AUTH_TOKEN` configured the token must come by path
 * or `x-proxy-token`; without it the report is public (it holds no secret: target URLs are operator
 * configuration and never carry keys, DESIGN §5.1).
 * By default the report lists the endpoints `ENDPOINTS` configures and those that have seen traffic
 * (registered by their `TargetHealth` objects), so a poll does not wake one object per idle preset;
 * `?all=1` lists every endpoint and `?endpoint=a,b` exactly those.
 */
export async function handleHealth(g: GatewayContext, pathToken: string | null): Promise<Response> {
  const { config } = g;
  if (config.authToken !== null) {
    const candidate = pathToken ?? g.raw.headers.get(TOKEN_HEADER);
    if (!isValidToken(config.authToken, candidate)) {
      throw new UnauthorizedError("/health needs the token: send x-proxy-token or call /{token}/health");
    }
  }
  const wanted = g.url.searchParams.get("endpoint");
  let endpoints = [...config.endpoints.values()];
  if (!wanted && g.url.searchParams.get("all") !== "1") {
    const used = await readRegisteredEndpoints(g.env).catch(() => null);
    // Without the registry, list everything rather than hide an endpoint.
    if (used !== null) {
      const inUse = new Set(used);
      endpoints = endpoints.filter((e) => config.overridden.has(e.name) || inUse.has(e.name));
    }
  }
  if (wanted) {
    const names = new Set(wanted.split(",").map((n) => n.trim()));
    endpoints = endpoints.filter((e) => names.has(e.name));
    const missing = [...names].filter((n) => !config.endpoints.has(n));
    if (missing.length > 0) throw new BadRequestError(`unknown endpoint(s): ${missing.join(", ")}`);
  }
  g.log.route = "health";
  const report = await buildHealthReport(g.env, endpoints);
  return new Response(JSON.stringify(report, null, 2), {
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

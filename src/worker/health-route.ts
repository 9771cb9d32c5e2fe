/**
 * `GET /health` (DESIGN §7): per-target health of every endpoint and the session counters; `GET /metrics`
 * (DESIGN §10): the same report as Prometheus text.
 */
import { buildHealthReport, type HealthReport } from "../durable/health/health-report";
import { registeredEndpointNames } from "../durable/health/health-shards";
import { readRegisteredEndpoints } from "../durable/health/session-counters";
import type { EndpointConfig } from "../transport/endpoint";
import { BadRequestError, UnauthorizedError } from "../transport/errors";
import { isValidPathToken, isValidToken, TOKEN_HEADER } from "./auth";
import type { GatewayContext } from "./context";
import { requestRegion } from "./health-region";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics";
import { splitFirstSegment } from "./route";
import { publicTargetLabels } from "./target-label";

/**
 * `pathToken` is set for `/{token}/health`. With `AUTH_TOKEN` configured the token must come by path
 * or `x-proxy-token`; without it the report is public (it holds no secret: targets are named by origin
 * only, see `withPublicTargetNames`, and never carry keys, DESIGN §5.1).
 * By default the report lists the endpoints `ENDPOINTS` configures and those that have seen traffic
 * (registered by their `TargetHealth` objects), so a poll does not wake one object per idle preset;
 * `?all=1` lists every endpoint and `?endpoint=a,b` exactly those.
 */
export async function handleHealth(g: GatewayContext, pathToken: string | null): Promise<Response> {
  const report = await readHealthReport(g, pathToken, "health");
  return new Response(JSON.stringify(report, null, 2), {
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** `GET /metrics` (DESIGN §10): the same report, same auth and endpoint choice, as Prometheus text. */
export async function handleMetrics(g: GatewayContext, pathToken: string | null): Promise<Response> {
  const report = await readHealthReport(g, pathToken, "metrics");
  return new Response(renderMetrics(report), {
    headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}

/** Authenticates a read of the health records (`page` names the route) and builds the report. */
async function readHealthReport(
  g: GatewayContext,
  pathToken: string | null,
  page: "health" | "metrics",
): Promise<HealthReport> {
  const { config } = g;
  if (config.authToken !== null) {
    // The path form accepts exactly what the proxy routes accept: the raw first segment, as written
    // or percent-decoded (the router's parameter is not trusted to keep the client's spelling).
    const authenticated =
      pathToken !== null
        ? isValidPathToken(config.authToken, splitFirstSegment(g.url.pathname)[0])
        : isValidToken(config.authToken, g.raw.headers.get(TOKEN_HEADER));
    if (!authenticated) {
      throw new UnauthorizedError(`/${page} needs the token: send x-proxy-token or call /{token}/${page}`);
    }
  }
  const wanted = g.url.searchParams.get("endpoint");
  let endpoints = [...config.endpoints.values()];
  // The registry lists the endpoints in use and, by `<endpoint>#<region>`, the regional shards to merge.
  const registered = await readRegisteredEndpoints(g.env).catch(() => null);
  if (!wanted && g.url.searchParams.get("all") !== "1") {
    // Without the registry, list everything rather than hide an endpoint.
    if (registered !== null) {
      const inUse = registeredEndpointNames(registered);
      endpoints = endpoints.filter((e) => config.overridden.has(e.name) || inUse.has(e.name));
    }
  }
  if (wanted) {
    const names = new Set(wanted.split(",").map((n) => n.trim()));
    endpoints = endpoints.filter((e) => names.has(e.name));
    const missing = [...names].filter((n) => !config.endpoints.has(n));
    if (missing.length > 0) throw new BadRequestError(`unknown endpoint(s): ${missing.join(", ")}`);
  }
  g.log.route = page;
  const report = await buildHealthReport(g.env, endpoints, Date.now, {
    registered,
    ownRegion: requestRegion(g),
  });
  return withPublicTargetNames(report, endpoints);
}

/**
 * Replaces each target's configured URL with its public name (`publicTargetLabels`): the report is
 * readable by every token holder, or by anyone without AUTH_TOKEN, like the dashboard, and shows no
 * more of a target than the dashboard does.
 */
function withPublicTargetNames(report: HealthReport, endpoints: readonly EndpointConfig[]): HealthReport {
  for (const endpoint of endpoints) {
    const entry = report.endpoints[endpoint.name];
    if (!entry) continue;
    const labels = publicTargetLabels(endpoint.targets.map((t) => t.url));
    const byUrl = new Map(endpoint.targets.map((t, i) => [t.url, labels[i] ?? ""]));
    entry.targets = entry.targets.map((t, i) => ({ ...t, url: byUrl.get(t.url) ?? labels[i] ?? "" }));
  }
  return report;
}

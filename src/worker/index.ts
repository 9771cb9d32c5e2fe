/**
 * The front Worker: authenticates, routes, and hands stateful work to Durable Objects (DESIGN §3–4).
 */
import { AutoRouter, type IRequest } from "itty-router";
import { reattachSession } from "../durable/stream-session/stream-session-route";
import { BadRequestError } from "../transport/errors";
import { loadConfig, type RequestLogLevel } from "./config";
import { type GatewayContext, secretsOf } from "./context";
import { decorate, preflightResponse } from "./cors";
import { renderDashboard } from "./dashboard";
import { toErrorResponse } from "./errors";
import { handleHealth, handleMetrics } from "./health-route";
import { loggedPath, logRequest, wantsLogLine } from "./log";
import { handleProxy } from "./proxy";
import { isProxyPrefix } from "./route";
import { RequestTiming } from "./server-timing";

export { GeminiSession } from "../durable/gemini-session/gemini-session";
export { TargetHealth } from "../durable/health/target-health";
export { RelaySession } from "../durable/relay/relay-session";
export { StreamSession } from "../durable/stream-session/stream-session";

type Handler = (request: IRequest, g: GatewayContext) => Response | Promise<Response>;

/**
 * The token form (`/{token}/health`, `/{token}/metrics`) of a gateway page. `/openai/health` is a
 * preset path, not the token form of /health; without a configured token there is no token form, and
 * an unknown first segment is the proxy's 404.
 */
function tokenForm(page: (g: GatewayContext, pathToken: string) => Promise<Response>): Handler {
  return (req, g) =>
    g.config.authToken === null || isProxyPrefix(g.config, req.params.token ?? "")
      ? handleProxy(g)
      : page(g, req.params.token ?? "");
}

const router = AutoRouter<IRequest, [GatewayContext]>({
  // Errors become responses in handleRequest, where the request id and secrets are known.
  catch: (error) => {
    throw error;
  },
});

const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });

const routes: [method: "get" | "options" | "all", path: string, handler: Handler][] = [
  ["options", "*", (_req, g) => preflightResponse(g.raw)],
  ["get", "/", (_req, g) => renderDashboard(g)],
  ["get", "/healthz", () => json({ status: "ok" })],
  ["get", "/health", (_req, g) => handleHealth(g, null)],
  ["get", "/metrics", (_req, g) => handleMetrics(g, null)],
  ["get", "/sessions/:id", (req, g) => reattach(g, req.params.id ?? "")],
  ["get", "/:token/health", tokenForm(handleHealth)],
  ["get", "/:token/metrics", tokenForm(handleMetrics)],
  ["all", "*", (_req, g) => handleProxy(g)],
];
for (const [method, path, handler] of routes) router[method](path, handler);

/** `GET /sessions/{id}?from={n}`: the id is the capability; `from` counts events already received. */
function reattach(g: GatewayContext, id: string): Promise<Response> {
  const from = g.url.searchParams.get("from") ?? "0";
  if (!/^\d{1,9}$/.test(from)) throw new BadRequestError("from must be a non-negative integer event count");
  g.log.route = "session";
  return reattachSession(g.env, id, Number(from));
}

export async function handleRequest(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const started = Date.now();
  const timing = new RequestTiming(() => performance.now());
  const requestId = crypto.randomUUID();
  const url = new URL(request.url);
  const log: GatewayContext["log"] = {};
  let secrets: string[] = [];
  let token: string | null = null;
  // A configuration that does not load is logged whatever it asks for.
  let logLevel: RequestLogLevel = "all";
  let response: Response;
  try {
    const config = loadConfig(env);
    secrets = secretsOf(config);
    token = config.authToken;
    logLevel = config.requestLog;
    response = await router.fetch(request, { raw: request, url, env, ctx, config, requestId, log, timing });
  } catch (error) {
    response = toErrorResponse(error, requestId, secrets);
    log.error = response.headers.get("x-proxy-error") ?? "error";
  }
  if (wantsLogLine(logLevel, response.status, log)) {
    logRequest({
      request_id: requestId,
      method: request.method,
      path: loggedPath(url, token, secrets),
      route: "unknown",
      ...log,
      status: response.status,
      duration_ms: Date.now() - started,
      upstream_ms: timing.upstreamMs(),
    });
  }
  return decorate(response, requestId, timing.headerValue());
}

export default { fetch: handleRequest } satisfies ExportedHandler<Env>;

/** CORS: browsers call the gateway directly, so it answers preflights itself and marks every response. */
import { withResponseHeaders } from "../transport/response-headers";

/** The gateway's own response headers, exposed to browser code. */
export const EXPOSED_HEADERS = [
  "x-proxy-request-id",
  "x-proxy-transport",
  "x-proxy-fallback",
  "x-proxy-attempts",
  "x-proxy-session-id",
  "x-proxy-error",
  // The format a stream was guarded as (issue 12).
  "x-proxy-stream-guard",
  "server-timing",
  // When to come back after a 429 (the gateway's own when every pool key cools down, or the upstream's).
  "retry-after",
];

const EXPOSED_HEADERS_VALUE = EXPOSED_HEADERS.join(", ");

const PREFLIGHT_MAX_AGE_S = 86_400;

export function preflightResponse(request: Request): Response {
  const requested = request.headers.get("access-control-request-headers");
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
      // Echo what the browser asks for: SDKs send their own headers (x-stainless-*, anthropic-version, …).
      "access-control-allow-headers": requested ?? "*",
      "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
    },
  });
}

/**
 * Marks a response with CORS, the request id and the gateway's `Server-Timing` entries (appended, so
 * an upstream's own entries stay; `Timing-Allow-Origin` lets browser code read them cross-origin).
 */
export function decorate(response: Response, requestId: string, serverTiming: string): Response {
  return withResponseHeaders(response, (headers) => {
    headers.set("access-control-allow-origin", "*");
    headers.set("access-control-expose-headers", EXPOSED_HEADERS_VALUE);
    headers.set("x-proxy-request-id", requestId);
    headers.append("server-timing", serverTiming);
    headers.set("timing-allow-origin", "*");
  });
}

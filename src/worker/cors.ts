/** CORS: browsers call the gateway directly, so it answers preflights itself and marks every response. */

/** The gateway's own response headers, exposed to browser code. */
export const EXPOSED_HEADERS = [
  "x-proxy-request-id",
  "x-proxy-transport",
  "x-proxy-fallback",
  "x-proxy-attempts",
  "x-proxy-session-id",
  "x-proxy-error",
];

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

/** Returns a response with mutable headers carrying CORS and the request id. */
export function decorate(response: Response, requestId: string): Response {
  const headers = new Headers(response.headers);
  headers.set("access-control-allow-origin", "*");
  headers.set("access-control-expose-headers", EXPOSED_HEADERS.join(", "));
  headers.set("x-proxy-request-id", requestId);
  if (response.status === 101) {
    // A WebSocket accept must keep its socket; it cannot be re-wrapped as an ordinary body.
    return new Response(null, { status: 101, headers, webSocket: response.webSocket });
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

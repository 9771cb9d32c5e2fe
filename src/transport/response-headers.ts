/**
 * Adding headers to a response without losing what a copy would drop. A response built with
 * `encodeBody: "manual"` (a content coding the socket path passes through, e.g. `br`) must not be
 * re-wrapped: `new Response(body, init)` resets it to "automatic", and workerd would then encode the
 * already-encoded body a second time on its way to the client. So headers are set in place whenever
 * the response's headers are mutable (every response the gateway builds itself), and only responses
 * with immutable headers (straight from `fetch()` or a Durable Object stub, always "automatic") are copied.
 */
export function withResponseHeaders(response: Response, set: (headers: Headers) => void): Response {
  try {
    set(response.headers);
    return response;
  } catch {
    // Immutable headers: copy once.
  }
  const headers = new Headers(response.headers);
  set(headers);
  if (response.status === 101) {
    // A WebSocket accept must keep its socket; it cannot be re-wrapped as an ordinary body.
    return new Response(null, { status: 101, headers, webSocket: response.webSocket });
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

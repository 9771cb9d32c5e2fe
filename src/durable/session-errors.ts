import type { EngineEvent } from "../gemini/engine-types";
import type { RepairEvent } from "../stream/repair-types";
import { googleStatusFor } from "../transport/errors";

/**
 * The error answers both session objects give, in the error JSON of DESIGN §8. `proxyError` names the object in
 * `x-proxy-error` (`gemini_session`, `stream_session`), so a client can tell a session's own refusal from an upstream's.
 */
export function sessionErrorResponse(proxyError: string, status: number, message: string): Response {
  const { body, headers } = sessionError(proxyError, status, message);
  return new Response(body, { status, headers });
}

function sessionError(
  proxyError: string,
  status: number,
  message: string,
): { body: string; headers: Headers } {
  return {
    body: JSON.stringify({ error: { code: status, status: googleStatusFor(status), message } }),
    headers: new Headers({ "content-type": "application/json; charset=UTF-8", "x-proxy-error": proxyError }),
  };
}

/**
 * The HTTP answer of a session whose first event is an HTTP error, or that produced no event at all (`null`, or an
 * event that is not an error: the engine crashed before it could stream): then a 502 `"<what> failed to start"`.
 */
export function startErrorOf(
  ev: EngineEvent | RepairEvent | null,
  proxyError: string,
  what: string,
): { status: number; headers: Headers; body: string } {
  if (ev === null || ev.type !== "http_error") {
    const status = 502;
    return { status, ...sessionError(proxyError, status, `${what} failed to start`) };
  }
  const headers = new Headers({ "content-type": ev.contentType });
  if (!ev.passthrough) headers.set("x-proxy-error", ev.reason);
  if (ev.retryAfter !== undefined) headers.set("retry-after", ev.retryAfter);
  return { status: ev.status, headers, body: ev.body };
}

import type { EngineEvent } from "../gemini/engine-types";
import type { RepairEvent } from "../stream/repair-types";
import { googleStatusFor } from "../transport/errors";

/** The kinds of session object, and the names each answers under (`x-proxy-error`, messages, logs). */
export type SessionKind = "gemini" | "stream";

export const SESSION_NAMES: Readonly<
  Record<SessionKind, { tag: string; what: string; noSuchSession: string }>
> = {
  gemini: { tag: "gemini_session", what: "gemini session", noSuchSession: "no such Gemini session" },
  stream: { tag: "stream_session", what: "stream session", noSuchSession: "no such session" },
};

/**
 * The error answers of a session and of the routes to it, in the error JSON of DESIGN §8. `x-proxy-error` names the
 * object (`gemini_session`, `stream_session`), so a client can tell a session's own refusal from an upstream's.
 */
export function sessionErrorResponse(kind: SessionKind, status: number, message: string): Response {
  const { body, headers } = sessionError(kind, status, message);
  return new Response(body, { status, headers });
}

function sessionError(
  kind: SessionKind,
  status: number,
  message: string,
): { body: string; headers: Headers } {
  return {
    body: JSON.stringify({ error: { code: status, status: googleStatusFor(status), message } }),
    headers: new Headers({
      "content-type": "application/json; charset=UTF-8",
      "x-proxy-error": SESSION_NAMES[kind].tag,
    }),
  };
}

/**
 * The HTTP answer of a session whose first event is an HTTP error, or that produced no event at all (`null`, or an
 * event that is not an error: the engine crashed before it could stream): then a 502 `"<what> failed to start"`.
 */
export function startErrorOf(
  ev: EngineEvent | RepairEvent | null,
  kind: SessionKind,
): { status: number; headers: Headers; body: string } {
  if (ev === null || ev.type !== "http_error") {
    const status = 502;
    return { status, ...sessionError(kind, status, `${SESSION_NAMES[kind].what} failed to start`) };
  }
  const headers = new Headers({ "content-type": ev.contentType });
  if (!ev.passthrough) headers.set("x-proxy-error", ev.reason);
  if (ev.retryAfter !== undefined) headers.set("retry-after", ev.retryAfter);
  return { status: ev.status, headers, body: ev.body };
}

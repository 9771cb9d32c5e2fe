/**
 * Structured logs: one JSON line per request. Paths are logged with the proxy token and `key=` style
 * query values redacted; request and response bodies (prompts, answers) are never logged.
 */

import { isValidPathToken } from "./auth";
import type { RequestLogLevel } from "./config";
import { splitFirstSegment } from "./route";

const REDACTED = "[redacted]";

/**
 * Query parameters that carry credentials (`?key=` for Gemini, signed-URL signatures such as S3's
 * `X-Amz-Signature`, OAuth `code`/`refresh_token`/`client_secret`, …); names match case-insensitively.
 */
const SECRET_QUERY_NAMES = [
  "key",
  "api_key",
  "api-key",
  "apikey",
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "auth",
  "x-goog-api-key",
  "client_secret",
  "secret",
  "password",
  "code",
  "sig",
  "signature",
  "x-amz-signature",
  "x-amz-security-token",
];
const SECRET_QUERY = new RegExp(
  `([?&](?:${SECRET_QUERY_NAMES.map((n) => n.replace(/[-_]/g, "[-_]")).join("|")})=)[^&#\\s"']*`,
  "gi",
);
/** Bearer tokens and provider keys that may end up inside upstream error text. */
const SECRET_SHAPES = /\b(?:Bearer\s+[A-Za-z0-9._~+/-]+=*|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})/g;

/**
 * The request's path and query as logged. A first segment that authenticated (the token in any
 * spelling the routes accept, e.g. percent-encoded) is replaced whole, so no form of the token is
 * written; then configured secrets and credential query values are redacted. Session ids are
 * capabilities: whoever reads the log must not be able to re-attach.
 */
export function loggedPath(url: URL, token: string | null, secrets: readonly string[] = []): string {
  const [first, rest] = splitFirstSegment(url.pathname);
  const path = first !== "" && isValidPathToken(token, first) ? `/${REDACTED}${rest}` : url.pathname;
  return redact(path + url.search, secrets).replace(/^\/sessions\/[^/?]+/, "/sessions/[id]");
}

/** Removes configured secrets, `?key=` values and well-known key shapes from a string. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out.replace(SECRET_QUERY, `$1${REDACTED}`).replace(SECRET_SHAPES, REDACTED);
}

export interface RequestLog {
  request_id: string;
  method: string;
  /** Path and query with secrets redacted. */
  path: string;
  route: string;
  endpoint?: string;
  target_host?: string;
  transport?: string;
  fallback?: string | null;
  attempts?: number;
  status: number;
  duration_ms: number;
  error?: string;
  [field: string]: unknown;
}

/**
 * Whether a request gets its line under `REQUEST_LOG`. `errors` keeps every request that did not go cleanly: an
 * error status (4xx included: a refused token is worth seeing), a gateway error, a socket attempt that fell back
 * to fetch, or more than one upstream attempt (a failure that failover hid from the client).
 */
export function wantsLogLine(level: RequestLogLevel, status: number, fields: Partial<RequestLog>): boolean {
  if (level === "all") return true;
  if (level === "off") return false;
  return (
    status >= 400 || fields.error !== undefined || Boolean(fields.fallback) || (fields.attempts ?? 1) > 1
  );
}

export function logRequest(entry: RequestLog): void {
  console.log(JSON.stringify({ level: entry.status >= 500 ? "error" : "info", ...entry }));
}

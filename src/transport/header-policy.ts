/**
 * The header policy of DESIGN §6, applied identically by the socket transport, the fetch transport and
 * WebSocket handshakes: the upstream must learn nothing about the client or the gateway's own plumbing.
 */

/** Exact names that identify the client, carry its ambient credentials, or belong to this gateway. */
const DROPPED_REQUEST_HEADERS = new Set([
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "client-ip",
  // Client-address headers other proxies, load balancers and CDNs set (seen in the wild).
  "x-originating-ip",
  "x-forwarded",
  "x-remote-ip",
  "x-remote-addr",
  "x-envoy-external-address",
  "fastly-client-ip",
  "x-original-forwarded-for",
  "x-proxyuser-ip",
  "via",
  "cookie",
  "referer",
  "origin",
  "x-proxy-token",
  // Browser fingerprinting hints: identify the client's browser and its navigation context.
  "x-client-data",
  "dnt",
  "sec-gpc",
  "priority",
]);

/** Prefixes of names dropped for the same reasons (`cf-connecting-ip`, `x-forwarded-for`, `sec-ch-ua`, …). */
const DROPPED_REQUEST_PREFIXES = [
  "cf-",
  "cdn-",
  "x-forwarded-",
  "proxy-",
  "sec-ch-",
  "sec-fetch-",
  "x-proxy-",
];

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, never the end-to-end message. workerd
 * already strips Connection/Keep-Alive/TE/Upgrade from incoming requests; the rest is ours to drop.
 */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "proxy-authenticate",
];

/**
 * Request side: also `proxy-authorization` (credentials for a proxy hop), and `host`, which each
 * transport rebuilds from the target URL.
 */
const REQUEST_HOP_BY_HOP = new Set([...HOP_BY_HOP, "proxy-authorization", "host"]);
const RESPONSE_HOP_BY_HOP = new Set(HOP_BY_HOP);

function connectionListed(headers: Headers): Set<string> {
  const listed = new Set<string>();
  for (const token of (headers.get("connection") ?? "").split(",")) {
    const name = token.trim().toLowerCase();
    if (name) listed.add(name);
  }
  return listed;
}

/** True when the client request header `name` (lower case) must not reach an upstream. */
export function isDroppedRequestHeader(name: string): boolean {
  return (
    REQUEST_HOP_BY_HOP.has(name) ||
    DROPPED_REQUEST_HEADERS.has(name) ||
    DROPPED_REQUEST_PREFIXES.some((prefix) => name.startsWith(prefix))
  );
}

/**
 * Returns a new Headers holding only what may reach the upstream. `content-length` is kept only as a
 * hint for the socket writer (which validates it against the body); the fetch transport recomputes it.
 * With `target`, `Host` is set for it (socket and WebSocket handshakes write their own head); the
 * fetch transport passes no target because `fetch()` derives Host from the URL.
 */
export function sanitizeRequestHeaders(headers: Headers, target?: URL): Headers {
  const listed = connectionListed(headers);
  const out = new Headers();
  for (const [name, value] of headers) {
    if (isDroppedRequestHeader(name) || listed.has(name)) continue;
    out.append(name, value);
  }
  if (target) out.set("host", hostHeaderFor(target));
  return out;
}

/** The `Host` header value for a target URL: the port is included only when it is not the default. */
export function hostHeaderFor(target: URL): string {
  // URL.port is "" for the scheme's default port (80 for http/ws, 443 for https/wss).
  return target.port ? `${target.hostname}:${target.port}` : target.hostname;
}

/**
 * The gateway's own response headers (`x-proxy-error`, `x-proxy-session-id`, …): an upstream that sends
 * one must not be able to pass it off as the gateway's, so every name with this prefix is removed
 * before the gateway adds its own.
 */
const GATEWAY_RESPONSE_PREFIX = "x-proxy-";

/**
 * Returns a mutable copy of upstream response headers without hop-by-hop fields and without any
 * `x-proxy-*` header.
 */
export function sanitizeResponseHeaders(headers: Headers): Headers {
  const listed = connectionListed(headers);
  const out = new Headers();
  for (const [name, value] of headers) {
    if (RESPONSE_HOP_BY_HOP.has(name) || listed.has(name)) continue;
    if (name.startsWith(GATEWAY_RESPONSE_PREFIX)) continue;
    out.append(name, value);
  }
  return out;
}

/**
 * Header names an operator adds to the policy (`DROP_REQUEST_HEADERS`): exact lower-case names, and
 * prefixes for entries written `name-*`.
 */
export interface ExtraHeaderDrops {
  names: ReadonlySet<string>;
  prefixes: readonly string[];
}

export const NO_EXTRA_HEADER_DROPS: ExtraHeaderDrops = { names: new Set(), prefixes: [] };

/** True when the operator's list names `name` (lower case). */
function isExtraDroppedHeader(name: string, extra: ExtraHeaderDrops): boolean {
  return extra.names.has(name) || extra.prefixes.some((prefix) => name.startsWith(prefix));
}

/** A copy of `headers` without the operator's extra names; `null` when none of them is present. */
export function withoutExtraHeaders(headers: Headers, extra: ExtraHeaderDrops): Headers | null {
  if (extra.names.size === 0 && extra.prefixes.length === 0) return null;
  let found = false;
  const out = new Headers();
  for (const [name, value] of headers) {
    if (isExtraDroppedHeader(name, extra)) found = true;
    else out.append(name, value);
  }
  return found ? out : null;
}

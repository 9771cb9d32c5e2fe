import { BadRequestError } from "./errors";

/**
 * HTTP/1.1 request serialisation for the socket transport (RFC 9112 §3, §6, §7.1). Pure and
 * byte-level: it produces the bytes the socket writes and refuses anything that would let a value
 * escape its field (request smuggling / header injection), so nothing it emits can be reinterpreted
 * by the upstream.
 */

/** How the request body is delimited on the wire. */
export type BodyFraming =
  /** No body: no Content-Length (GET, HEAD, … without a body). */
  | { kind: "none" }
  /** Exactly `length` bytes follow the head. */
  | { kind: "length"; length: number }
  /** `Transfer-Encoding: chunked`: the body length is not known up front. */
  | { kind: "chunked" };

export interface RequestHead {
  method: string;
  /** origin-form request target: path and query, e.g. `/v1/models?x=1`. */
  target: string;
  /** The `Host` value, with its non-default port. */
  host: string;
  /** Field lines in order. Framing and connection fields are ignored: the writer owns them. */
  headers: Iterable<[string, string]>;
}

/**
 * Fields the writer always sets itself: Host (first, RFC 9112 §3.2), the body framing, and
 * `Connection: close` — every socket carries exactly one request (a Worker cannot keep a socket
 * across requests), so announcing it lets the upstream end a close-delimited body cleanly.
 */
const WRITER_OWNED = new Set(["host", "content-length", "transfer-encoding", "connection"]);

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value is visible characters, spaces and horizontal tabs (RFC 9110 §5.5). CR, LF and NUL end
// or corrupt the field line; the other controls (DEL included) are refused as well, because upstreams
// and intermediaries disagree on them (some strip, some split, some reject), which is what smuggling
// and log injection feed on.
const FORBIDDEN_IN_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
// The request target is one token of the request line: no whitespace or controls at all.
const TARGET_FORBIDDEN = /[\0-\x20\x7f]/;
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

const encoder = new TextEncoder();

function refuse(what: string): never {
  throw new BadRequestError(`refusing to send a request with an invalid ${what}`, "invalid_request_header");
}

/**
 * The origin-form request target (path + query) for an absolute URL string. WHATWG URL parsing
 * resolves dot segments (`/a/./b` → `/a/b`); a proxy forwards the client's path byte-exact (DESIGN §4),
 * so the target is cut from the raw string when that is plain printable ASCII, and taken from the
 * parsed URL (which percent-encodes what needs it) otherwise. A fragment is never sent.
 */
export function requestTargetFor(rawUrl: string, parsed: URL = new URL(rawUrl)): string {
  const normalised = `${parsed.pathname || "/"}${parsed.search}`;
  const authorityStart = rawUrl.indexOf("//");
  if (authorityStart < 0) return normalised;
  const pathStart = rawUrl.slice(authorityStart + 2).search(/[/?#]/);
  if (pathStart < 0) return normalised;
  let raw = rawUrl.slice(authorityStart + 2 + pathStart);
  const hash = raw.indexOf("#");
  if (hash >= 0) raw = raw.slice(0, hash);
  if (raw === "" || raw.startsWith("?")) raw = `/${raw}`;
  return /^\/[\x21-\x7e]*$/.test(raw) ? raw : normalised;
}

/**
 * Validates and serialises a request head. Throws `BadRequestError` (400) for a method that is not a
 * token, a target with whitespace/controls, a header name that is not a token, or a value holding a
 * control character other than HTAB (CR, LF, NUL and DEL included). Header values are encoded as UTF-8, like workerd's own `fetch()` does.
 */
export function serializeRequestHead(head: RequestHead, framing: BodyFraming): Uint8Array {
  if (!TCHAR.test(head.method)) refuse("method");
  if (head.target === "" || TARGET_FORBIDDEN.test(head.target)) refuse("request target");
  if (head.host === "" || TARGET_FORBIDDEN.test(head.host)) refuse("host");
  let text = `${head.method} ${head.target} HTTP/1.1\r\nHost: ${head.host}\r\n`;
  for (const [name, value] of head.headers) {
    if (!TCHAR.test(name)) refuse("header name");
    if (FORBIDDEN_IN_VALUE.test(value)) {
      refuse(`value for header ${name} (control characters other than tab are not allowed)`);
    }
    if (WRITER_OWNED.has(name.toLowerCase())) continue;
    // Leading/trailing whitespace is not part of a field value (RFC 9110 §5.5).
    text += `${name}: ${value.replace(OWS_EDGES, "")}\r\n`;
  }
  if (framing.kind === "length") {
    if (!Number.isSafeInteger(framing.length) || framing.length < 0) refuse("content length");
    text += `Content-Length: ${framing.length}\r\n`;
  } else if (framing.kind === "chunked") {
    text += "Transfer-Encoding: chunked\r\n";
  }
  text += "Connection: close\r\n\r\n";
  return encoder.encode(text);
}

/** Methods whose requests carry a body by definition: an empty one is sent as `Content-Length: 0`. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * Chooses the framing: a known length (a byte array, or the client's validated Content-Length for a
 * stream) gives Content-Length — many upstreams reject chunked requests — otherwise chunked.
 */
export function chooseFraming(method: string, bodyLength: number | null, hasBody: boolean): BodyFraming {
  if (!hasBody)
    return BODY_METHODS.has(method.toUpperCase()) ? { kind: "length", length: 0 } : { kind: "none" };
  if (bodyLength !== null) return { kind: "length", length: bodyLength };
  return { kind: "chunked" };
}

/**
 * Parses a client's Content-Length for use as framing of a streamed body: `null` when absent; a
 * `BadRequestError` when it is not a plain decimal (or lists conflicting values).
 */
export function parseContentLength(value: string | null): number | null {
  if (value === null) return null;
  const parts = value.split(",").map((p) => p.trim());
  const first = parts[0] ?? "";
  if (!/^\d{1,15}$/.test(first) || parts.some((p) => p !== first)) refuse("content-length");
  return Number(first);
}

/** One chunk of a chunked body: `<hex size>\r\n<data>\r\n`. Empty data must not be sent (it ends the body). */
export function encodeChunk(data: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${data.length.toString(16)}\r\n`);
  const out = new Uint8Array(prefix.length + data.length + 2);
  out.set(prefix, 0);
  out.set(data, prefix.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** The last chunk with an empty trailer section. */
export const LAST_CHUNK: Uint8Array = encoder.encode("0\r\n\r\n");

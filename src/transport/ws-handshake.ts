/**
 * The client side of the RFC 6455 opening handshake, pure: builds the upgrade request bytes, parses
 * the upstream's answer incrementally (with the HTTP/1.1 head parser every response goes through)
 * and validates it. The caller supplies the random source and
 * the already-sanitized headers (`sanitizeRequestHeaders` in `header-policy.ts`).
 */
import { BadRequestError, UpstreamError, UpstreamProtocolError } from "./errors";
import { Http1ResponseParser, type ResponseHead } from "./http1-parser";
import { requestTargetFor } from "./http1-writer";

/** RFC 6455 §1.3: the GUID concatenated with the key before hashing. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A response head larger than this is not a WebSocket server talking. */
export const MAX_HANDSHAKE_HEAD_BYTES = 16 * 1024;

/**
 * The upstream answered the upgrade with something other than a valid 101. The client gets an HTTP
 * error (not a 101 followed by a close); nothing is retried because the upstream did answer.
 */
export class UpstreamHandshakeError extends UpstreamError {
  constructor(message: string, upstreamStatus: number | null) {
    super(502, "upstream_ws_handshake_failed", message, "after_response", { upstreamStatus });
  }
}

/**
 * Headers the handshake writes itself, or that must not be forwarded: the client's own key/version/
 * accept belong to the client↔gateway connection, and extension offers are stripped because the
 * relay forwards frames verbatim and does not implement permessage-deflate.
 */
const HANDSHAKE_OWNED = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-accept",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "content-length",
  "transfer-encoding",
]);

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes from the injected source. */
export function generateWebSocketKey(randomBytes: (n: number) => Uint8Array): string {
  const bytes = randomBytes(16);
  if (bytes.length !== 16) throw new RangeError("randomBytes must return 16 bytes");
  return base64(bytes);
}

/** The `Sec-WebSocket-Accept` value a server must answer for `key`. */
export async function computeAcceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + WEBSOCKET_GUID));
  return base64(new Uint8Array(digest));
}

/** Subprotocols from a `Sec-WebSocket-Protocol` header value (comma-separated tokens). */
export function parseProtocolList(value: string | null): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

function assertNoControlChars(what: string, value: string): void {
  // A CR/LF/NUL would let a value inject headers or a second request into the raw socket; the other
  // controls (DEL too) are refused like the HTTP writer does (RFC 9110 §5.5 allows only HTAB).
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new BadRequestError(`${what} contains a control character (only tab is allowed)`);
  }
}

export interface UpgradeRequestInit {
  url: URL;
  /** Already sanitized; `host` must be set (sanitizeRequestHeaders(headers, url) does). */
  headers: Headers;
  key: string;
  protocols: readonly string[];
}

/** The bytes of the HTTP/1.1 upgrade request. */
export function buildUpgradeRequest(init: UpgradeRequestInit): Uint8Array {
  const { url, headers, key, protocols } = init;
  // From the serialised URL, not pathname + search: `search` is "" for an empty query, and `/live?`
  // must reach the upstream with its `?` (DESIGN §4).
  const target = requestTargetFor(url.href, url);
  assertNoControlChars("request target", target);
  if (/\s/.test(target)) throw new BadRequestError("request target contains whitespace");
  const host = headers.get("host");
  if (!host) throw new RangeError("sanitized headers must carry host");
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of headers) {
    if (HANDSHAKE_OWNED.has(name)) continue;
    assertNoControlChars(`header ${name}`, value);
    lines.push(`${name}: ${value}`);
  }
  lines.push(
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  );
  if (protocols.length > 0) {
    const joined = protocols.join(", ");
    assertNoControlChars("subprotocol", joined);
    lines.push(`Sec-WebSocket-Protocol: ${joined}`);
  }
  for (const line of lines) assertNoControlChars("request head", line);
  return new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n`);
}

export interface UpgradeResponseHead {
  status: number;
  statusText: string;
  headers: Headers;
  /** Bytes that arrived after the head in the same reads: the first WebSocket frames. */
  rest: Uint8Array;
}

/**
 * Reads the upstream's answer to the upgrade, incrementally, with the one HTTP/1.1 head parser
 * (`http1-parser.ts`): a 101 is held to exactly the rules of every other response head (no
 * whitespace before a colon, no folded lines, no bare CR or control characters, bare LF accepted as
 * a line end, interim 1xx skipped, the size bounded).
 */
export class UpgradeResponseReader {
  readonly #parser = new Http1ResponseParser({
    method: "GET",
    upgrade: true,
    maxHeadBytes: MAX_HANDSHAKE_HEAD_BYTES,
  });
  #head: ResponseHead | null = null;

  /**
   * Feeds one read. Returns null while the head is incomplete; throws UpstreamProtocolError for a
   * malformed or oversized head. `rest` holds the bytes after the head in this read, which must be
   * fed to the frame decoder (a server may send its first frame in the same TCP segment as the 101).
   */
  push(chunk: Uint8Array): UpgradeResponseHead | null {
    for (const event of this.#parser.push(chunk)) {
      if (event.type === "head") this.#head = event.head;
      else if (event.type === "upgrade" && this.#head) return toUpgradeHead(this.#head, event.rest);
    }
    return null;
  }
}

function toUpgradeHead(head: ResponseHead, rest: Uint8Array): UpgradeResponseHead {
  const headers = new Headers();
  for (const [name, value] of head.headers) {
    try {
      headers.append(name, value);
    } catch {
      throw new UpstreamProtocolError(
        "header value not representable in handshake response",
        "after_response",
      );
    }
  }
  return { status: head.status, statusText: head.reason, headers, rest };
}

/** One-shot form of `UpgradeResponseReader` for bytes already gathered. */
export function parseUpgradeResponse(bytes: Uint8Array): UpgradeResponseHead | null {
  return new UpgradeResponseReader().push(bytes);
}

function tokens(value: string | null): string[] {
  return (value ?? "").split(",").map((t) => t.trim().toLowerCase());
}

/**
 * Checks a parsed response against RFC 6455 §4.1 (client requirements). Returns the negotiated
 * subprotocol (null when none). Throws UpstreamHandshakeError: a non-101 carries the upstream
 * status; a 101 that breaks the rules carries 101.
 */
export async function validateUpgradeResponse(
  head: UpgradeResponseHead,
  expected: { key: string; protocols: readonly string[] },
): Promise<{ protocol: string | null }> {
  if (head.status !== 101) {
    const text = head.statusText ? ` ${head.statusText}` : "";
    throw new UpstreamHandshakeError(
      `upstream refused the WebSocket upgrade: HTTP ${head.status}${text}`,
      head.status,
    );
  }
  const fail = (why: string) =>
    new UpstreamHandshakeError(`invalid WebSocket handshake from upstream: ${why}`, 101);
  if (!tokens(head.headers.get("upgrade")).includes("websocket")) throw fail("missing Upgrade: websocket");
  if (!tokens(head.headers.get("connection")).includes("upgrade")) throw fail("missing Connection: Upgrade");
  const accept = head.headers.get("sec-websocket-accept");
  if (accept !== (await computeAcceptKey(expected.key)))
    throw fail("Sec-WebSocket-Accept does not match the key");
  // We offered no extension, so the server may not select one (RFC 6455 §4.1 client rule 5).
  if (head.headers.get("sec-websocket-extensions"))
    throw fail("server selected an extension that was not offered");
  const protocol = head.headers.get("sec-websocket-protocol");
  if (protocol === null || protocol === "") return { protocol: null };
  if (!expected.protocols.includes(protocol))
    throw fail(`server selected subprotocol "${protocol}" that was not offered`);
  return { protocol };
}

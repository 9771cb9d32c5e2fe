import { UpstreamProtocolError, UpstreamResetError } from "./errors";

/**
 * Incremental HTTP/1.1 response parser (RFC 9112) on raw bytes, for the socket transport. Pure: feed it
 * whatever the socket delivered (`push`), and `finish()` at end of stream; it returns events and never
 * waits, so malformed or truncated input always ends in a typed error rather than a hang.
 *
 * Every error it raises is about bytes the upstream already sent, so its phase is `after_response`
 * (the upstream saw the request; replaying it could execute it twice) — except end of stream before
 * any byte at all, which is `after_write`.
 */

export interface ResponseHead {
  status: number;
  /** Reason phrase as sent (may be empty: `HTTP/1.1 200` is valid). */
  reason: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  /** Field lines in order, names as sent; values UTF-8 decoded (like workerd's fetch), OWS trimmed. */
  headers: [string, string][];
}

export type ResponseEvent =
  /** The final (non-1xx) response head. Interim 1xx heads are consumed silently. */
  | { type: "head"; head: ResponseHead }
  /** Body bytes; a view into the pushed chunk, valid until the caller reuses that buffer. */
  | { type: "body"; data: Uint8Array }
  /** Trailer fields of a chunked body (a `Response` cannot carry them; callers may drop them). */
  | { type: "trailers"; headers: [string, string][] }
  | { type: "end" }
  /**
   * Only with `upgrade`: right after the final head, the bytes that followed it in the same push
   * (for a 101, the first bytes of the new protocol). Parsing is over; no body is read.
   */
  | { type: "upgrade"; rest: Uint8Array };

export interface ParserOptions {
  /** The request method: a response to HEAD has no body whatever its headers say. */
  method: string;
  /** Limit for one head (status line + fields) and for the trailer section. Default 64 KiB. */
  maxHeadBytes?: number;
  /** Limit for one chunk-size line including extensions. Default 4 KiB. */
  maxChunkLineBytes?: number;
  /** How many interim (1xx) responses are tolerated before the final one. Default 16. */
  maxInterimResponses?: number;
  /**
   * The request asked to switch protocols (a WebSocket handshake): a 101 is then a final head
   * instead of an error, and parsing stops after the final head, whatever its status, with an
   * `upgrade` event carrying the bytes that came after it.
   */
  upgrade?: boolean;
}

export const DEFAULT_MAX_HEAD_BYTES = 64 * 1024;
const DEFAULT_MAX_CHUNK_LINE_BYTES = 4 * 1024;
const DEFAULT_MAX_INTERIM = 16;

type State =
  | "status"
  | "fields"
  | "length-body"
  | "chunk-size"
  | "chunk-data"
  | "chunk-data-end"
  | "trailers"
  | "close-body"
  | "done";

const LF = 10;
const CR = 13;
/** Reason phrase: HTAB, SP, VCHAR and obs-text (RFC 9112 §4), so no control character. */
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]+)[ \t]*(;.*)?$/;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function protocolError(message: string): UpstreamProtocolError {
  return new UpstreamProtocolError(message, "after_response");
}

export class Http1ResponseParser {
  readonly #method: string;
  readonly #maxHeadBytes: number;
  readonly #maxChunkLineBytes: number;
  readonly #maxInterim: number;
  readonly #upgrade: boolean;
  #state: State = "status";
  /** Bytes of the current, incomplete line. */
  #line: Uint8Array[] = [];
  #lineBytes = 0;
  /** Bytes of the current head or trailer section, for the size limit. */
  #sectionBytes = 0;
  #status = 0;
  #reason = "";
  #version: ResponseHead["version"] = "HTTP/1.1";
  #fields: [string, string][] = [];
  #interimCount = 0;
  #remaining = 0;
  #bytesSeen = 0;
  #headSeen = false;
  #skippedEmptyLine = false;

  constructor(options: ParserOptions) {
    this.#method = options.method.toUpperCase();
    this.#maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    this.#maxChunkLineBytes = options.maxChunkLineBytes ?? DEFAULT_MAX_CHUNK_LINE_BYTES;
    this.#maxInterim = options.maxInterimResponses ?? DEFAULT_MAX_INTERIM;
    this.#upgrade = options.upgrade ?? false;
  }

  /** True once the response is complete (bytes after that are ignored: the socket is closed). */
  get done(): boolean {
    return this.#state === "done";
  }

  /** True once the final head was parsed. */
  get headSeen(): boolean {
    return this.#headSeen;
  }

  /** Consumes a chunk of the response. Throws `UpstreamProtocolError` on malformed input. */
  push(chunk: Uint8Array): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    this.#bytesSeen += chunk.length;
    let offset = 0;
    while (offset < chunk.length && this.#state !== "done") {
      switch (this.#state) {
        case "length-body":
        case "chunk-data": {
          const take = Math.min(this.#remaining, chunk.length - offset);
          events.push({ type: "body", data: chunk.subarray(offset, offset + take) });
          offset += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            if (this.#state === "length-body") this.#end(events);
            else this.#state = "chunk-data-end";
          }
          break;
        }
        case "close-body":
          events.push({ type: "body", data: chunk.subarray(offset) });
          offset = chunk.length;
          break;
        default: {
          const lf = chunk.indexOf(LF, offset);
          const stop = lf < 0 ? chunk.length : lf;
          this.#appendLine(chunk.subarray(offset, stop));
          if (lf < 0) return events;
          offset = lf + 1;
          this.#onLine(this.#takeLine(), events);
          if (this.#upgrade && this.#headSeen) {
            events.push({ type: "upgrade", rest: chunk.subarray(offset) });
            return events;
          }
        }
      }
    }
    return events;
  }

  /**
   * Signals end of stream. Completes a close-delimited body; anything else unfinished is a truncated
   * response and throws (`UpstreamResetError` with nothing received at all, otherwise typed by phase).
   */
  finish(): ResponseEvent[] {
    if (this.#state === "done") return [];
    if (this.#state === "close-body") {
      const events: ResponseEvent[] = [];
      this.#end(events);
      return events;
    }
    if (this.#bytesSeen === 0) {
      throw new UpstreamResetError("upstream closed the connection without answering", "after_write");
    }
    if (!this.#headSeen) throw protocolError("connection closed inside the response head");
    throw new UpstreamResetError(
      "upstream closed the connection before the response body was complete",
      "after_response",
    );
  }

  #end(events: ResponseEvent[]): void {
    this.#state = "done";
    events.push({ type: "end" });
  }

  #appendLine(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#lineBytes += bytes.length;
    const isChunkLine = this.#state === "chunk-size" || this.#state === "chunk-data-end";
    if (isChunkLine && this.#lineBytes > this.#maxChunkLineBytes)
      throw protocolError("chunk size line too long");
    if (!isChunkLine && this.#sectionBytes + this.#lineBytes > this.#maxHeadBytes) {
      throw protocolError(
        this.#state === "trailers" ? "trailer section too large" : "response head too large",
      );
    }
    // Copy: the caller may reuse the chunk's buffer once push() returns.
    this.#line.push(bytes.slice());
  }

  /** The completed line without its terminator (CRLF, or a bare LF which RFC 9112 §2.2 lets us accept). */
  #takeLine(): Uint8Array {
    const size = this.#lineBytes;
    let line: Uint8Array;
    if (this.#line.length === 1) line = this.#line[0] as Uint8Array;
    else {
      line = new Uint8Array(size);
      let at = 0;
      for (const part of this.#line) {
        line.set(part, at);
        at += part.length;
      }
    }
    this.#line = [];
    this.#lineBytes = 0;
    if (this.#state !== "chunk-size" && this.#state !== "chunk-data-end") this.#sectionBytes += size + 1;
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    const body = line.subarray(0, end);
    // A bare CR anywhere else could be read as a line break by another parser: refuse it.
    if (body.includes(CR)) throw protocolError("bare CR in a line");
    if (body.includes(0)) throw protocolError("NUL in a line");
    return body;
  }

  #onLine(line: Uint8Array, events: ResponseEvent[]): void {
    switch (this.#state) {
      case "status":
        this.#onStatusLine(line);
        return;
      case "fields":
        if (line.length === 0) this.#onHeadEnd(events);
        else this.#fields.push(this.#parseField(line));
        return;
      case "chunk-size":
        this.#onChunkSize(line);
        return;
      case "chunk-data-end":
        if (line.length !== 0) throw protocolError("chunk data longer than its declared size");
        this.#state = "chunk-size";
        return;
      case "trailers":
        if (line.length === 0) {
          if (this.#fields.length > 0) events.push({ type: "trailers", headers: this.#fields });
          this.#fields = [];
          this.#end(events);
        } else {
          this.#fields.push(this.#parseField(line));
        }
        return;
      default:
        throw new Error(`unreachable parser state ${this.#state}`);
    }
  }

  #onStatusLine(line: Uint8Array): void {
    // RFC 9112 §2.2: a recipient SHOULD ignore at least one empty line before the status line.
    if (line.length === 0 && !this.#skippedEmptyLine) {
      this.#skippedEmptyLine = true;
      this.#sectionBytes = 0;
      return;
    }
    const match = STATUS_LINE.exec(latin1.decode(line));
    if (!match) throw protocolError("malformed status line");
    this.#version = match[1] === "0" ? "HTTP/1.0" : "HTTP/1.1";
    this.#status = Number(match[2]);
    this.#reason = match[3] ?? "";
    if (this.#status < 100 || this.#status > 599) throw protocolError(`status ${this.#status} out of range`);
    this.#fields = [];
    this.#skippedEmptyLine = false;
    this.#state = "fields";
  }

  #parseField(line: Uint8Array): [string, string] {
    const first = line[0];
    // obs-fold (RFC 9112 §5.2): a continuation line. Refused rather than unfolded.
    if (first === 0x20 || first === 0x09) throw protocolError("obsolete line folding in a header");
    const colon = line.indexOf(0x3a);
    if (colon <= 0) throw protocolError("header line without a field name");
    // No whitespace is allowed between the name and the colon (RFC 9112 §5.1): TOKEN refuses it.
    const name = latin1.decode(line.subarray(0, colon));
    if (!TOKEN.test(name)) throw protocolError("invalid header field name");
    let start = colon + 1;
    let end = line.length;
    while (start < end && (line[start] === 0x20 || line[start] === 0x09)) start++;
    while (end > start && (line[end - 1] === 0x20 || line[end - 1] === 0x09)) end--;
    const value = line.subarray(start, end);
    // RFC 9110 §5.5: a value is visible characters, obs-text, SP and HTAB; a control character is
    // refused (as llhttp and h11 do), not passed on to whoever reads the header next.
    if (value.some((b) => (b < 0x20 && b !== 0x09) || b === 0x7f))
      throw protocolError("control character in a header value");
    return [name, utf8.decode(value)];
  }

  #onHeadEnd(events: ResponseEvent[]): void {
    const status = this.#status;
    this.#sectionBytes = 0;
    if (status < 200 && !(status === 101 && this.#upgrade)) {
      // 101 switches protocols, which only an upgrade request asks for.
      if (status === 101) throw protocolError("unexpected 101 Switching Protocols");
      if (++this.#interimCount > this.#maxInterim) throw protocolError("too many interim responses");
      this.#state = "status";
      return;
    }
    this.#headSeen = true;
    const head: ResponseHead = {
      status,
      reason: this.#reason,
      version: this.#version,
      headers: this.#fields,
    };
    this.#fields = [];
    events.push({ type: "head", head });
    if (this.#upgrade) this.#state = "done";
    else this.#chooseBodyFraming(head, events);
  }

  /**
   * RFC 9112 §6.3, in order, refusing every framing that another parser could read differently
   * (the cases llhttp and h11 reject): Transfer-Encoding together with Content-Length (§6.3 item 3:
   * "ought to be handled as an error"), empty framing fields, and transfer codings other than
   * `chunked`, which the gateway would otherwise forward still encoded with the header that says so
   * stripped as hop-by-hop.
   */
  #chooseBodyFraming(head: ResponseHead, events: ResponseEvent[]): void {
    if (this.#method === "HEAD" || head.status === 204 || head.status === 304) {
      this.#end(events);
      return;
    }
    const transferEncoding = fieldLines(head.headers, "transfer-encoding");
    const contentLength = fieldLines(head.headers, "content-length");
    if (transferEncoding.length > 0) {
      if (contentLength.length > 0)
        throw protocolError("both Transfer-Encoding and Content-Length: the body length is ambiguous");
      if (transferEncoding.some((line) => line.trim() === "")) throw protocolError("empty Transfer-Encoding");
      const codings = transferEncoding.flatMap(listElements).map((c) => c.toLowerCase());
      if (codings.length !== 1 || codings[0] !== "chunked") {
        const named = JSON.stringify(codings.join(", ").slice(0, 60));
        throw protocolError(`unsupported transfer coding ${named} (only chunked is accepted, once)`);
      }
      this.#state = "chunk-size";
      return;
    }
    if (contentLength.length > 0) {
      // A list of identical values is allowed (RFC 9110 §8.6); an empty line or element is not.
      const values = contentLength.flatMap((line) => line.split(",").map((v) => v.trim()));
      const first = values[0] as string;
      if (!/^[0-9]{1,15}$/.test(first) || values.some((v) => v !== first)) {
        throw protocolError("invalid Content-Length");
      }
      this.#remaining = Number(first);
      if (this.#remaining === 0) this.#end(events);
      else this.#state = "length-body";
      return;
    }
    this.#state = "close-body";
  }

  #onChunkSize(line: Uint8Array): void {
    const match = CHUNK_SIZE.exec(latin1.decode(line));
    if (!match) throw protocolError("malformed chunk size line");
    const hex = (match[1] as string).replace(/^0+(?=.)/, "");
    if (hex.length > 13) throw protocolError("chunk size too large");
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.#sectionBytes = 0;
      this.#fields = [];
      this.#state = "trailers";
      return;
    }
    this.#remaining = size;
    this.#state = "chunk-data";
  }
}

/** The values of every line of field `name` (case-insensitive), in order. */
function fieldLines(headers: [string, string][], name: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

/** Elements of a comma-separated list value, trimmed, empty elements dropped (RFC 9110 §5.6.1). */
function listElements(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

import { type ChunkReader, largeChunkReader } from "./byte-reader";
import { concatBytes } from "./bytes";
import { decodeBody, narrowAcceptEncoding, responseCoding } from "./content-coding";
import type { SocketAttempt } from "./egress-policy";
import {
  BadRequestError,
  ClientBodyError,
  type FailurePhase,
  UpstreamError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from "./errors";
import type { EgressRequest } from "./fetch-egress";
import { hostHeaderFor, sanitizeResponseHeaders } from "./header-policy";
import { HeldBody, type RequestBody } from "./held-body";
import { Http1ResponseParser, type ResponseEvent, type ResponseHead } from "./http1-parser";
import {
  type BodyFraming,
  chooseFraming,
  encodeChunk,
  LAST_CHUNK,
  parseContentLength,
  requestTargetFor,
  serializeRequestHead,
} from "./http1-writer";
import { closeQuietly, openSocket } from "./socket-connect";
import type { EgressTimeouts } from "./timeouts";
import { type Expiry, Watchdog } from "./watchdog";

/**
 * One HTTP/1.1 request over a raw socket (`connect()`), the private egress path (DESIGN §6). The
 * request head and body are written with backpressure; the response body is a pull-based stream, so a
 * slow client slows the upstream read instead of the gateway buffering it.
 *
 * Failures are `UpstreamError`s whose `phase` drives the fallback rules in `egress.ts`: `before_write`
 * (connect failed, nothing sent), `after_write` (request bytes may have reached the upstream, no
 * response byte yet), `after_response` (response bytes arrived: never replay). Headers must already
 * have passed the header policy; this module only writes them.
 */

/** Writes of the request body are sliced so the write-stall watchdog sees progress. */
const WRITE_SLICE_BYTES = 64 * 1024;
const BODYLESS_METHODS = new Set(["GET", "HEAD"]);

export type { SocketAttempt } from "./egress-policy";

function noop(): void {}

/** What a stalled socket was waiting for: the first response byte, or progress of a read or write after it. */
type StallKind = "first_byte" | "idle";

function asUpstreamError(error: unknown, phase: FailurePhase, what: string): Error {
  if (error instanceof UpstreamError || error instanceof BadRequestError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamResetError(`${what}: ${detail}`, phase, { cause: error });
}

export interface SendOptions {
  /** Filled in as the attempt progresses; lets the caller classify a failure. */
  attempt?: SocketAttempt;
}

/** Sends `req` (headers already sanitised) over a socket and returns the upstream response. */
export async function sendViaSocket(
  req: EgressRequest,
  timeouts: EgressTimeouts,
  options: SendOptions = {},
): Promise<Response> {
  const attempt = options.attempt ?? { wroteRequest: false, receivedResponse: false };
  const url = new URL(req.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BadRequestError(`socket egress cannot send to ${url.protocol} URLs`);
  }
  const method = req.method.toUpperCase();
  const body = BODYLESS_METHODS.has(method) ? null : req.body;
  const framing: BodyFraming =
    body instanceof Uint8Array || body instanceof HeldBody
      ? chooseFraming(method, body.byteLength, true)
      : chooseFraming(
          method,
          body ? parseContentLength(req.headers.get("content-length")) : null,
          body !== null,
        );
  const headers = new Headers(req.headers);
  const acceptEncoding = narrowAcceptEncoding(headers.get("accept-encoding"));
  if (acceptEncoding !== null) headers.set("accept-encoding", acceptEncoding);
  // Serialise before connecting: an invalid header is the client's 400, not a transport failure.
  const head = serializeRequestHead(
    { method, target: requestTargetFor(req.url, url), host: hostHeaderFor(url), headers },
    framing,
  );

  const socket = await openSocket(url, { connectTimeoutMs: timeouts.connectTimeoutMs, signal: req.signal });
  const conn = new Connection(socket, method, timeouts, attempt);
  const onAbort = () => conn.abort(req.signal?.reason ?? new DOMException("aborted", "AbortError"));
  req.signal?.addEventListener("abort", onAbort, { once: true });
  conn.onClose(() => req.signal?.removeEventListener("abort", onAbort));
  try {
    const written = conn.writeRequest(head, body, framing);
    const responseHead = await conn.readHead(written);
    return conn.toResponse(responseHead);
  } catch (error) {
    conn.abort(error);
    // A client abort closes the socket under us; report the abort, not the broken read it causes.
    if (req.signal?.aborted) throw req.signal.reason;
    throw error;
  }
}

/** The state of one request/response exchange on one socket. */
class Connection {
  readonly #socket: Socket;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ChunkReader;
  readonly #parser: Http1ResponseParser;
  readonly #timeouts: EgressTimeouts;
  readonly #attempt: SocketAttempt;
  /** Events parsed but not yet handed to the body stream. */
  #pending: ResponseEvent[] = [];
  #closed = false;
  #onClose: (() => void)[] = [];
  /**
   * Stall watchdogs, one for writes and one for reads (they overlap while a request body is still being written),
   * instead of a timer per operation (see `watchdog.ts`).
   */
  readonly #writeDog = new Watchdog<StallKind>((e) => this.#stalled(e));
  readonly #readDog = new Watchdog<StallKind>((e) => this.#stalled(e));
  /** The timeout that closed the connection, once one did: it names the failure of every operation it broke. */
  #timedOut: UpstreamTimeoutError | null = null;
  /** Resolves when the whole request was written; then the first-byte clock starts. */
  #requestWritten!: () => void;
  readonly #requestWrittenP = new Promise<void>((r) => {
    this.#requestWritten = r;
  });

  constructor(socket: Socket, method: string, timeouts: EgressTimeouts, attempt: SocketAttempt) {
    this.#socket = socket;
    this.#writer = socket.writable.getWriter();
    this.#reader = largeChunkReader(socket.readable);
    this.#parser = new Http1ResponseParser({ method });
    this.#timeouts = timeouts;
    this.#attempt = attempt;
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  /** Closes the socket; idempotent. */
  abort(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeDog.stop();
    this.#readDog.stop();
    this.#reader.cancel(reason).catch(() => {});
    this.#writer.abort(reason).catch(() => {});
    closeQuietly(this.#socket);
    for (const fn of this.#onClose) fn();
  }

  #phase(): FailurePhase {
    if (this.#attempt.receivedResponse) return "after_response";
    return this.#attempt.wroteRequest ? "after_write" : "before_write";
  }

  /** A watchdog expired: the connection closes, and the operations it broke fail with the timeout. */
  #stalled({ kind, ms }: Expiry<StallKind>): UpstreamTimeoutError {
    const error = new UpstreamTimeoutError(kind, ms, this.#phase());
    this.#timedOut ??= error;
    this.abort(error);
    return error;
  }

  /** One socket write, watched for a stall (an upstream that stops reading). */
  async #write(bytes: Uint8Array): Promise<void> {
    this.#attempt.wroteRequest = true;
    await this.#writeDog.watch(this.#writer.write(bytes), "idle", this.#timeouts.idleTimeoutMs);
  }

  /**
   * Writes head and body. Resolves when done; rejects with a typed error. Stops quietly once the
   * response is complete (an upstream may answer early, e.g. 413, without reading the whole body).
   */
  async writeRequest(head: Uint8Array, body: RequestBody, framing: BodyFraming) {
    try {
      const small = bodyBytesUpTo(body, WRITE_SLICE_BYTES);
      if (small !== null) {
        // Head and a small body in one write: one socket operation, and one TCP segment for a small request.
        await this.#write(concatBytes([head, small], head.byteLength + small.byteLength));
      } else {
        await this.#write(head);
        await this.#writeBody(body, framing);
      }
      this.#requestWritten();
    } catch (error) {
      if (error instanceof ClientBodyError) throw error;
      throw this.#timedOut ?? asUpstreamError(error, this.#phase(), "writing the request failed");
    } finally {
      this.#writer.releaseLock();
    }
  }

  /** A body too large for the head's write: in slices, held pieces or streamed reads. */
  async #writeBody(body: RequestBody, framing: BodyFraming): Promise<void> {
    if (body instanceof Uint8Array) {
      for (let at = 0; at < body.length; at += WRITE_SLICE_BYTES) {
        await this.#write(body.subarray(at, at + WRITE_SLICE_BYTES));
      }
    } else if (body instanceof HeldBody) {
      // Views of the held pieces: the body is written without a copy and stays intact for a resend.
      for (const slice of body.slices()) {
        await this.#write(slice);
        if (this.#parser.done) break;
      }
    } else if (body) {
      await this.#writeStream(body, framing);
    }
  }

  async #writeStream(body: ReadableStream<Uint8Array>, framing: BodyFraming): Promise<void> {
    const reader = largeChunkReader(body);
    const declared = framing.kind === "length" ? framing.length : null;
    let sent = 0;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw new ClientBodyError(`reading the request body failed: ${String(error)}`);
        }
        if (chunk.done) break;
        const data = chunk.value;
        if (data.length === 0) continue;
        sent += data.length;
        if (declared !== null && sent > declared) {
          throw new ClientBodyError("request body is longer than its Content-Length");
        }
        await this.#write(declared === null ? encodeChunk(data) : data);
        if (this.#parser.done) return;
      }
      if (declared !== null && sent !== declared) {
        throw new ClientBodyError("request body is shorter than its Content-Length");
      }
      if (declared === null) await this.#write(LAST_CHUNK);
    } catch (error) {
      reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * Reads one chunk from the socket. Until the first response byte, the first-byte clock runs only
   * once the request is fully written (a long upload is not upstream silence); after it, the idle
   * clock runs per read.
   */
  async #readChunk(): Promise<Uint8Array | null> {
    const read = this.#reader.read();
    read.catch(() => {});
    let kind: StallKind = "idle";
    let ms = this.#timeouts.idleTimeoutMs;
    if (!this.#attempt.receivedResponse) {
      // If the read settles first (an early answer), the timer below never matters.
      await Promise.race([read.then(noop, noop), this.#requestWrittenP]);
      kind = "first_byte";
      ms = this.#timeouts.firstByteTimeoutMs;
    }
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.#readDog.watch(read, kind, ms);
    } catch (error) {
      throw this.#timedOut ?? asUpstreamError(error, this.#phase(), "reading the response failed");
    }
    if (result.done) return null;
    if (result.value.length > 0) this.#attempt.receivedResponse = true;
    return result.value;
  }

  /**
   * Reads until the final response head; body events that came with it are kept for the stream. A
   * write failure before the head (reset, stalled upload) fails the exchange; after the head it no
   * longer matters (the upstream answered early and may close without reading the rest).
   */
  async readHead(written: Promise<void>): Promise<ResponseHead> {
    let headSeen = false;
    const writeFailure = written.then(
      () => new Promise<never>(noop),
      (error: unknown) => {
        if (headSeen) return new Promise<never>(noop);
        throw error;
      },
    );
    writeFailure.catch(noop);
    const reading = (async () => {
      for (;;) {
        const chunk = await this.#readChunk();
        const events = chunk === null ? this.#parser.finish() : this.#parser.push(chunk);
        const at = events.findIndex((e) => e.type === "head");
        if (at >= 0) {
          headSeen = true;
          this.#pending = events.slice(at + 1);
          return (events[at] as Extract<ResponseEvent, { type: "head" }>).head;
        }
      }
    })();
    reading.catch(noop);
    return Promise.race([reading, writeFailure]);
  }

  toResponse(head: ResponseHead): Response {
    const headers = new Headers();
    try {
      for (const [name, value] of head.headers) headers.append(name, value);
    } catch {
      // workerd's Headers refuses some bytes the parser tolerates (e.g. other control characters).
      throw new UpstreamProtocolError("response header value not representable", "after_response");
    }
    const init = { status: head.status, statusText: head.reason, headers: sanitizeResponseHeaders(headers) };
    const coding = responseCoding(init.headers.get("content-encoding"));
    if (this.#parser.done) {
      const body = this.#pendingBody();
      if (body === null || coding === null) {
        // The whole response came with its head (HEAD, 204, 304, or a small answer in the same reads): the socket
        // closes now and the body is handed over as bytes, with no stream to pump through JavaScript.
        this.abort();
        return makeResponse(body, init);
      }
    }
    if (coding === null) return makeResponse(this.#bodyStream(), init);
    if (coding === "passthrough") return makeResponse(this.#bodyStream(), { ...init, encodeBody: "manual" });
    // Decoded like fetch() does; the encoded length no longer describes the body.
    init.headers.delete("content-length");
    return makeResponse(decodeBody(this.#bodyStream(), coding), init);
  }

  /** The body bytes parsed so far, joined (null when there are none). */
  #pendingBody(): Uint8Array | null {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const event of this.#pending) {
      if (event.type !== "body" || event.data.length === 0) continue;
      parts.push(event.data);
      total += event.data.length;
    }
    if (total === 0) return null;
    return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts, total);
  }

  #bodyStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            for (;;) {
              const event = this.#pending.shift();
              if (event) {
                if (event.type === "body" && event.data.length > 0) {
                  controller.enqueue(event.data);
                  return;
                }
                if (event.type === "end") {
                  controller.close();
                  this.abort();
                  return;
                }
                continue;
              }
              const chunk = await this.#readChunk();
              this.#pending = chunk === null ? this.#parser.finish() : this.#parser.push(chunk);
            }
          } catch (error) {
            // Never a clean end after a failure: the consumer sees the stream error.
            const typed =
              error instanceof UpstreamError
                ? error
                : asUpstreamError(error, "after_response", "response body");
            controller.error(typed);
            this.abort(typed);
          }
        },
        cancel: (reason) => {
          this.abort(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** A byte-array or held body of at most `limit` bytes as one array (a held body's pieces joined); else null. */
function bodyBytesUpTo(body: RequestBody, limit: number): Uint8Array | null {
  if (body instanceof Uint8Array) return body.byteLength <= limit ? body : null;
  if (body instanceof HeldBody && body.byteLength <= limit)
    return concatBytes([...body.slices()], body.byteLength);
  return null;
}

/** `new Response` refuses some reason phrases (non-token bytes); the status is what matters then. */
function makeResponse(
  body: BodyInit | null,
  init: { status: number; statusText: string; headers: Headers; encodeBody?: "automatic" | "manual" },
): Response {
  try {
    return new Response(body, init);
  } catch {
    return new Response(body, { ...init, statusText: "" });
  }
}

/**
 * An RFC 6455 WebSocket client over a raw TCP/TLS socket (`openSocket`), so the upgrade request
 * carries exactly the headers the header policy let through, and frames are relayed verbatim: text
 * stays text, binary stays binary, any size up to the configured limit, and frames that arrive in the
 * same read as the 101 response are kept (the platform's `fetch` WebSocket gives no such control).
 */
import { UpstreamResetError, UpstreamTimeoutError } from "./errors";
import { closeQuietly, openSocket } from "./socket-connect";
import {
  CLOSE_ABNORMAL,
  encodeClosePayload,
  encodeFrame,
  encodeMessage,
  isSendableCloseCode,
  Opcode,
  WebSocketProtocolError,
} from "./ws-frame";
import {
  buildUpgradeRequest,
  generateWebSocketKey,
  type UpgradeResponseHead,
  UpgradeResponseReader,
  validateUpgradeResponse,
} from "./ws-handshake";
import { WsReader } from "./ws-reader";
import type { UpstreamWebSocket, UpstreamWsHandlers, UpstreamWsOptions, WsMessage } from "./ws-upstream";

type Reader = ReadableStreamDefaultReader<Uint8Array>;
type Writer = WritableStreamDefaultWriter<Uint8Array>;

/** Reads until the response head is complete, or fails with a typed error after `timeoutMs`. */
async function readHandshakeHead(reader: Reader, timeoutMs: number): Promise<UpgradeResponseHead> {
  const response = new UpgradeResponseReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UpstreamTimeoutError("first_byte", timeoutMs, "after_write")),
      timeoutMs,
    );
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done)
        throw new UpstreamResetError(
          "upstream closed the connection during the WebSocket handshake",
          "after_write",
        );
      const head = response.push(value);
      if (head) return head;
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects, performs the opening handshake and returns the open connection. Throws the typed errors
 * of `openSocket` (connect failures are `before_write`, so a caller may fall back to fetch),
 * `UpstreamHandshakeError` for a non-101 or invalid 101, and timeout/reset errors.
 */
export async function connectSocketWebSocket(opts: UpstreamWsOptions): Promise<UpstreamWebSocket> {
  const socket = await openSocket(opts.url, { connectTimeoutMs: opts.connectTimeoutMs, signal: opts.signal });
  const reader = socket.readable.getReader() as Reader;
  const writer = socket.writable.getWriter() as Writer;
  try {
    const key = generateWebSocketKey(opts.randomBytes);
    const request = buildUpgradeRequest({
      url: opts.url,
      headers: opts.headers,
      key,
      protocols: opts.protocols,
    });
    try {
      await writer.write(request);
    } catch (cause) {
      throw new UpstreamResetError(
        "upstream connection failed while sending the WebSocket upgrade",
        "before_write",
        {
          cause,
        },
      );
    }
    const head = await readHandshakeHead(reader, opts.handshakeTimeoutMs);
    const { protocol } = await validateUpgradeResponse(head, { key, protocols: opts.protocols });
    return new SocketWebSocket(socket, reader, writer, head.rest, protocol, opts);
  } catch (err) {
    reader.releaseLock();
    writer.releaseLock();
    closeQuietly(socket);
    throw err;
  }
}

class SocketWebSocket implements UpstreamWebSocket {
  readonly transport = "socket" as const;
  readonly protocol: string | null;
  readonly #socket: Socket;
  readonly #reader: Reader;
  readonly #writer: Writer;
  readonly #frames: WsReader;
  readonly #opts: UpstreamWsOptions;
  #early: Uint8Array;
  #handlers: UpstreamWsHandlers | null = null;
  #closeSent = false;
  #finished = false;
  #pendingClose: [number, string, boolean] | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #buffered = 0;
  #writeFailed = false;

  constructor(
    socket: Socket,
    reader: Reader,
    writer: Writer,
    early: Uint8Array,
    protocol: string | null,
    opts: UpstreamWsOptions,
  ) {
    this.#socket = socket;
    this.#reader = reader;
    this.#writer = writer;
    this.#early = early;
    this.protocol = protocol;
    this.#opts = opts;
    this.#frames = new WsReader({ role: "client", maxMessageBytes: opts.maxMessageBytes });
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  start(handlers: UpstreamWsHandlers): void {
    if (this.#handlers) throw new Error("already started");
    this.#handlers = handlers;
    if (this.#pendingClose) {
      handlers.onClose(...this.#pendingClose);
      return;
    }
    this.#readLoop().catch((err: unknown) => this.#fail(err));
  }

  send(message: WsMessage): void {
    if (this.#closeSent || this.#finished) return;
    const mask = () => this.#opts.randomBytes(4);
    for (const frame of encodeMessage(message.kind, message.data, mask)) this.#write(frame);
  }

  ping(payload: Uint8Array = new Uint8Array(0)): void {
    if (this.#closeSent || this.#finished) return;
    this.#write(this.#controlFrame(Opcode.ping, payload));
  }

  close(code?: number, reason = ""): void {
    if (this.#closeSent || this.#finished) return;
    this.#closeSent = true;
    const sendable = code !== undefined && isSendableCloseCode(code) ? code : undefined;
    this.#write(this.#controlFrame(Opcode.close, encodeClosePayload(sendable, reason)));
    this.#closeTimer = setTimeout(
      () => this.#finish(CLOSE_ABNORMAL, "close handshake timed out", false),
      this.#opts.closeTimeoutMs,
    );
  }

  abort(): void {
    this.#finish(CLOSE_ABNORMAL, "", false);
  }

  #controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
    return encodeFrame({ fin: true, opcode, payload }, this.#opts.randomBytes(4));
  }

  #write(bytes: Uint8Array): void {
    this.#buffered += bytes.length;
    // WritableStream queues writes in order; each resolves once the bytes went to the socket.
    this.#writer.write(bytes).then(
      () => {
        this.#buffered -= bytes.length;
      },
      () => {
        this.#buffered -= bytes.length;
        this.#onWriteFailed();
      },
    );
  }

  /**
   * The upstream stopped accepting bytes. Its last messages may still be readable (an upstream that
   * drops the connection often sent something just before), so let the read side run to its end, but
   * no longer than the close timeout.
   */
  #onWriteFailed(): void {
    if (this.#writeFailed || this.#finished) return;
    this.#writeFailed = true;
    this.#closeSent = true;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(
      () => this.#finish(CLOSE_ABNORMAL, "upstream connection lost while writing", false),
      this.#opts.closeTimeoutMs,
    );
  }

  async #readLoop(): Promise<void> {
    const early = this.#early;
    this.#early = new Uint8Array(0);
    if (early.length > 0) await this.#consume(early);
    while (!this.#finished) {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#finish(CLOSE_ABNORMAL, "", false);
        return;
      }
      await this.#consume(value);
    }
  }

  async #consume(chunk: Uint8Array): Promise<void> {
    for (const event of this.#frames.push(chunk)) {
      if (this.#finished) return;
      switch (event.type) {
        case "text":
        case "binary":
          // Data after our close frame is still delivered: the peer may send until it answers.
          await this.#handlers?.onMessage({ kind: event.type, data: event.data } as WsMessage);
          break;
        case "ping":
          if (!this.#closeSent) this.#write(this.#controlFrame(Opcode.pong, event.payload));
          break;
        case "pong":
          break;
        case "close":
          if (!this.#closeSent) {
            // Echo the code (RFC 6455 §5.5.1) so the upstream's close handshake completes.
            this.#closeSent = true;
            const echo = isSendableCloseCode(event.code) ? event.code : undefined;
            this.#write(this.#controlFrame(Opcode.close, encodeClosePayload(echo)));
          }
          this.#finish(event.code, event.reason, true);
          return;
      }
    }
  }

  #fail(err: unknown): void {
    if (this.#finished) return;
    if (err instanceof WebSocketProtocolError) {
      // Tell the upstream why (1002/1007/1009) before dropping the connection.
      if (!this.#closeSent) {
        this.#closeSent = true;
        this.#write(this.#controlFrame(Opcode.close, encodeClosePayload(err.closeCode, err.message)));
      }
      this.#finish(err.closeCode, err.message, false);
      return;
    }
    this.#finish(CLOSE_ABNORMAL, "upstream connection lost", false);
  }

  #finish(code: number, reason: string, clean: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#closeTimer);
    // Let queued writes (our close frame) drain, then close the socket, but never wait on a peer that
    // stopped reading for longer than the close timeout. Rejections are swallowed on purpose: the
    // connection is over and its outcome is reported through onClose.
    const socket = this.#socket;
    if (code === CLOSE_ABNORMAL) {
      closeQuietly(socket);
    } else {
      const force = setTimeout(() => closeQuietly(socket), this.#opts.closeTimeoutMs);
      this.#writer
        .close()
        .catch(() => {})
        .finally(() => {
          clearTimeout(force);
          closeQuietly(socket);
        });
    }
    this.#reader.cancel().catch(() => {});
    if (this.#handlers) this.#handlers.onClose(code, reason, clean);
    else this.#pendingClose = [code, reason, clean];
  }
}

/**
 * Decoding half of the RFC 6455 codec: a byte stream in, frames out (`FrameDecoder`), frames in,
 * messages and control events out (`MessageAssembler`), both together (`WsReader`). Pure.
 *
 * Memory follows the payload, not the reads: a frame or message that is still incomplete when a read
 * ends is copied into one buffer of its own, so neither many tiny reads (one object each) nor one
 * large read (a 64 KiB buffer pinned by a few bytes of an open message) is kept alive by it.
 */
import { ByteBuilder } from "./byte-builder";
import {
  decodeUtf8Strict,
  type Frame,
  isControlOpcode,
  MAX_CONTROL_PAYLOAD_BYTES,
  Opcode,
  parseClosePayload,
  WebSocketProtocolError,
  type WsEvent,
} from "./ws-frame";

/**
 * Data frames (first + continuations) one message may span. Even empty fragments cost a frame's
 * worth of work each, so a peer may not keep a message open forever with them; beyond the bound the
 * message fails with 1008 (policy violation), the code and the default the `ws` library use.
 */
export const MAX_MESSAGE_FRAGMENTS = 16_384;
/** RFC 6455 §5.2: 2 bytes, then 2 or 8 bytes of extended length, then a 4-byte mask key. */
const MAX_FRAME_HEADER_BYTES = 14;
const EMPTY = new Uint8Array(0);

interface FrameHeader {
  fin: boolean;
  opcode: number;
  length: number;
  mask: Uint8Array | null;
}

export interface FrameDecoderOptions {
  /** `client`: frames from the server must be unmasked; `server`: frames from a client must be masked. */
  role: "client" | "server";
  /** Frames (and messages) above this are refused with 1009 before their payload is buffered. */
  maxMessageBytes: number;
}

/**
 * Splits a byte stream into frames. Throws WebSocketProtocolError on any violation, and again on
 * every later call: after a violation the stream has no frame boundaries left to trust.
 */
export class FrameDecoder {
  readonly #opts: FrameDecoderOptions;
  /** Reads not yet consumed; empty between calls unless a caller stopped iterating early. */
  readonly #input: Uint8Array[] = [];
  #inputOffset = 0;
  readonly #head = new Uint8Array(MAX_FRAME_HEADER_BYTES);
  #headBytes = 0;
  /** Header bytes needed to learn the next thing (2, then the extended length, then the mask). */
  #headNeeded = 2;
  #headStage: "first-bytes" | "length" | "mask" = "first-bytes";
  /** Payload length, once the extended length is in. */
  #length = 0;
  #header: FrameHeader | null = null;
  readonly #payload = new ByteBuilder();
  #error: WebSocketProtocolError | null = null;

  constructor(opts: FrameDecoderOptions) {
    this.#opts = opts;
  }

  /** Bytes received but not yet forming a whole frame (bounded by one frame's size). */
  get bufferedBytes(): number {
    let pending = -this.#inputOffset;
    for (const chunk of this.#input) pending += chunk.length;
    return pending + this.#headBytes + this.#payload.length;
  }

  /** Byte arrays held between reads: at most the payload of the frame in progress. */
  get retainedChunks(): number {
    return this.#input.length + (this.#payload.capacity > 0 ? 1 : 0);
  }

  /** Bytes those arrays keep alive (the fixed 14-byte header scratch space is not counted). */
  get retainedBytes(): number {
    let bytes = this.#payload.capacity;
    for (const chunk of this.#input) bytes += chunk.buffer.byteLength;
    return bytes;
  }

  /** Queues a read; `next()` decodes from it. */
  write(chunk: Uint8Array): void {
    if (chunk.length > 0) this.#input.push(chunk);
  }

  /** All frames completed by `chunk`. Frames decoded before a violation are lost: see `WsReader`. */
  push(chunk: Uint8Array): Frame[] {
    this.write(chunk);
    const frames: Frame[] = [];
    for (let frame = this.next(); frame !== null; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** The next whole frame, or null once every queued byte is consumed into the frame in progress. */
  next(): Frame | null {
    if (this.#error) throw this.#error;
    try {
      return this.#decode();
    } catch (err) {
      if (err instanceof WebSocketProtocolError) {
        this.#error = err;
        this.#input.length = 0;
        this.#payload.take();
      }
      throw err;
    }
  }

  #decode(): Frame | null {
    for (;;) {
      if (this.#header === null && !this.#readHeader()) return null;
      const header = this.#header as FrameHeader;
      if (header.length === 0) return this.#complete(EMPTY);
      const chunk = this.#input[0];
      if (chunk === undefined) return null;
      const available = chunk.length - this.#inputOffset;
      const missing = header.length - this.#payload.length;
      const take = Math.min(available, missing);
      const bytes = chunk.subarray(this.#inputOffset, this.#inputOffset + take);
      this.#consumed(take);
      // A whole unmasked payload inside one read is handed on as a view: it is delivered now, and
      // whatever the assembler keeps of it, it copies.
      if (take === header.length && header.mask === null) return this.#complete(bytes);
      const at = this.#payload.append(bytes, header.length);
      if (header.mask) unmask(at, header.mask, this.#payload.length - take);
      if (this.#payload.length === header.length) return this.#complete(this.#payload.take());
    }
  }

  #consumed(n: number): void {
    this.#inputOffset += n;
    if (this.#inputOffset === this.#input[0]?.length) {
      this.#input.shift();
      this.#inputOffset = 0;
    }
  }

  #complete(payload: Uint8Array): Frame {
    const { fin, opcode } = this.#header as FrameHeader;
    this.#header = null;
    this.#headBytes = 0;
    this.#headNeeded = 2;
    this.#headStage = "first-bytes";
    return { fin, opcode, payload };
  }

  /**
   * Copies header bytes from the input, checking each part as soon as it is in (so an oversized
   * length is refused before any payload is read); true once the header is complete.
   */
  #readHeader(): boolean {
    for (;;) {
      while (this.#headBytes < this.#headNeeded) {
        const chunk = this.#input[0];
        if (chunk === undefined) return false;
        this.#head[this.#headBytes++] = chunk[this.#inputOffset]!;
        this.#consumed(1);
      }
      if (this.#headStage === "first-bytes") {
        this.#checkFirstBytes();
        this.#headStage = "length";
      } else if (this.#headStage === "length") {
        this.#checkLength();
        this.#headStage = "mask";
      } else {
        const h = this.#head;
        const masked = (h[1]! & 0x80) !== 0;
        this.#header = {
          fin: (h[0]! & 0x80) !== 0,
          opcode: h[0]! & 0x0f,
          length: this.#length,
          mask: masked ? h.slice(this.#headBytes - 4, this.#headBytes) : null,
        };
        return true;
      }
    }
  }

  #checkFirstBytes(): void {
    const b0 = this.#head[0]!;
    const b1 = this.#head[1]!;
    if ((b0 & 0x70) !== 0)
      throw new WebSocketProtocolError(1002, "reserved bits set without a negotiated extension");
    const opcode = b0 & 0x0f;
    if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa)
      throw new WebSocketProtocolError(1002, `reserved opcode ${opcode}`);
    const masked = (b1 & 0x80) !== 0;
    if (masked !== (this.#opts.role === "server")) {
      throw new WebSocketProtocolError(
        1002,
        masked ? "server frames must not be masked" : "client frames must be masked",
      );
    }
    if (isControlOpcode(opcode) && (b0 & 0x80) === 0)
      throw new WebSocketProtocolError(1002, "fragmented control frame");
    const len7 = b1 & 0x7f;
    this.#headNeeded = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
  }

  #checkLength(): void {
    const h = this.#head;
    const len7 = h[1]! & 0x7f;
    let length = len7;
    if (len7 === 126) {
      length = (h[2]! << 8) | h[3]!;
    } else if (len7 === 127) {
      const high = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      const low = ((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0;
      if (high >= 0x80000000) throw new WebSocketProtocolError(1002, "64-bit length with the top bit set");
      length = high * 2 ** 32 + low;
    }
    if (isControlOpcode(h[0]! & 0x0f)) {
      if (length > MAX_CONTROL_PAYLOAD_BYTES)
        throw new WebSocketProtocolError(1002, "control frame payload over 125 bytes");
    } else if (length > this.#opts.maxMessageBytes) {
      throw new WebSocketProtocolError(
        1009,
        `frame of ${length} bytes exceeds the ${this.#opts.maxMessageBytes}-byte limit`,
      );
    }
    this.#length = length;
    if ((h[1]! & 0x80) !== 0) this.#headNeeded += 4;
  }
}

function unmask(bytes: Uint8Array, mask: Uint8Array, offset: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i]! ^= mask[(offset + i) & 3]!;
}

/**
 * Reassembles frames into messages and control events, enforcing the fragmentation rules of
 * RFC 6455 §5.4, UTF-8 validity of text (§8.1), the maximum message size and the fragment bound.
 * Fragments are copied into one buffer as they come, never kept as the frames they arrived in.
 */
export class MessageAssembler {
  readonly #maxMessageBytes: number;
  #kind: "text" | "binary" | null = null;
  readonly #message = new ByteBuilder();
  #fragments = 0;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes held for an unfinished fragmented message. */
  get bufferedBytes(): number {
    return this.#message.length;
  }

  get retainedChunks(): number {
    return this.#message.capacity > 0 ? 1 : 0;
  }

  get retainedBytes(): number {
    return this.#message.capacity;
  }

  accept(frame: Frame): WsEvent | null {
    switch (frame.opcode) {
      case Opcode.ping:
        return { type: "ping", payload: frame.payload };
      case Opcode.pong:
        return { type: "pong", payload: frame.payload };
      case Opcode.close:
        return { type: "close", ...parseClosePayload(frame.payload) };
      case Opcode.text:
      case Opcode.binary: {
        if (this.#kind !== null)
          throw new WebSocketProtocolError(1002, "new data frame inside a fragmented message");
        const kind = frame.opcode === Opcode.text ? "text" : "binary";
        if (frame.fin) return this.#finish(kind, frame.payload);
        this.#kind = kind;
        this.#fragments = 1;
        this.#add(frame.payload);
        return null;
      }
      case Opcode.continuation: {
        const kind = this.#kind;
        if (kind === null)
          throw new WebSocketProtocolError(1002, "continuation frame without a message to continue");
        if (++this.#fragments > MAX_MESSAGE_FRAGMENTS) {
          throw new WebSocketProtocolError(
            1008,
            `message split into more than ${MAX_MESSAGE_FRAGMENTS} fragments`,
          );
        }
        this.#add(frame.payload);
        if (!frame.fin) return null;
        this.#kind = null;
        this.#fragments = 0;
        return this.#finish(kind, this.#message.take());
      }
      default:
        throw new WebSocketProtocolError(1002, `unexpected opcode ${frame.opcode}`);
    }
  }

  #add(payload: Uint8Array): void {
    if (this.#message.length + payload.length > this.#maxMessageBytes) {
      throw new WebSocketProtocolError(1009, `message exceeds the ${this.#maxMessageBytes}-byte limit`);
    }
    if (payload.length > 0) this.#message.append(payload, this.#maxMessageBytes);
  }

  #finish(kind: "text" | "binary", payload: Uint8Array): WsEvent {
    if (payload.length > this.#maxMessageBytes) {
      throw new WebSocketProtocolError(1009, `message exceeds the ${this.#maxMessageBytes}-byte limit`);
    }
    return kind === "text"
      ? { type: "text", data: decodeUtf8Strict(payload) }
      : { type: "binary", data: payload };
  }
}

/** Decoder + assembler: bytes in, WebSocket events out. */
export class WsReader {
  readonly #decoder: FrameDecoder;
  readonly #assembler: MessageAssembler;
  #error: WebSocketProtocolError | null = null;

  constructor(opts: FrameDecoderOptions) {
    this.#decoder = new FrameDecoder(opts);
    this.#assembler = new MessageAssembler(opts.maxMessageBytes);
  }

  /** Bytes of the frame and message in progress. */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes + this.#assembler.bufferedBytes;
  }

  /** Byte arrays kept between reads: at most two (the frame and the message in progress). */
  get retainedChunks(): number {
    return this.#decoder.retainedChunks + this.#assembler.retainedChunks;
  }

  /** Bytes those arrays keep alive: at most about twice the payload in progress, whatever the reads. */
  get retainedBytes(): number {
    return this.#decoder.retainedBytes + this.#assembler.retainedBytes;
  }

  /**
   * Queues `chunk` and yields the events it completes, decoding as the caller iterates. The events
   * before a protocol violation are yielded first; the violation is thrown when iteration reaches
   * it, so a caller delivers what the peer sent correctly before it closes the connection. Bytes a
   * caller did not iterate to stay queued for the next call.
   */
  *push(chunk: Uint8Array): Generator<WsEvent, void, undefined> {
    if (this.#error) throw this.#error;
    this.#decoder.write(chunk);
    for (;;) {
      let event: WsEvent | null;
      try {
        const frame = this.#decoder.next();
        if (frame === null) return;
        event = this.#assembler.accept(frame);
      } catch (err) {
        // A violation ends the stream for good: nothing after it is decoded, on any later call.
        if (err instanceof WebSocketProtocolError) this.#error = err;
        throw err;
      }
      if (event !== null) yield event;
    }
  }
}

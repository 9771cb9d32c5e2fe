/**
 * Decoding half of the RFC 6455 codec: a byte stream in, frames out (`FrameDecoder`), frames in,
 * messages and control events out (`MessageAssembler`), both together (`WsReader`). Pure.
 */
import { concatBytes } from "./bytes";
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

/** A queue of byte chunks that avoids re-concatenating on every push (large messages arrive in many reads). */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Byte at `index` without consuming. */
  at(index: number): number {
    for (const chunk of this.#chunks) {
      if (index < chunk.length) return chunk[index]!;
      index -= chunk.length;
    }
    throw new RangeError("ByteQueue index out of range");
  }

  /** Removes and returns the first `n` bytes. */
  take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#length -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const need = n - filled;
      if (chunk.length <= need) {
        out.set(chunk, filled);
        filled += chunk.length;
        this.#chunks.shift();
      } else {
        out.set(chunk.subarray(0, need), filled);
        this.#chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    this.#length -= n;
    return out;
  }
}

export interface FrameDecoderOptions {
  /** `client`: frames from the server must be unmasked; `server`: frames from a client must be masked. */
  role: "client" | "server";
  /** Frames (and messages) above this are refused with 1009 before their payload is buffered. */
  maxMessageBytes: number;
}

/** Splits a byte stream into frames. Throws WebSocketProtocolError on any violation. */
export class FrameDecoder {
  readonly #opts: FrameDecoderOptions;
  readonly #queue = new ByteQueue();

  constructor(opts: FrameDecoderOptions) {
    this.#opts = opts;
  }

  /** Bytes received but not yet forming a whole frame (bounded by one frame's size). */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  push(chunk: Uint8Array): Frame[] {
    this.#queue.push(chunk);
    const frames: Frame[] = [];
    for (;;) {
      const frame = this.#next();
      if (frame === null) return frames;
      frames.push(frame);
    }
  }

  #next(): Frame | null {
    const q = this.#queue;
    if (q.length < 2) return null;
    const b0 = q.at(0);
    const b1 = q.at(1);
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0)
      throw new WebSocketProtocolError(1002, "reserved bits set without a negotiated extension");
    const opcode = b0 & 0x0f;
    if (opcode > 0x2 && opcode < 0x8) throw new WebSocketProtocolError(1002, `reserved opcode ${opcode}`);
    if (opcode > 0xa) throw new WebSocketProtocolError(1002, `reserved opcode ${opcode}`);
    const masked = (b1 & 0x80) !== 0;
    if (masked !== (this.#opts.role === "server")) {
      throw new WebSocketProtocolError(
        1002,
        masked ? "server frames must not be masked" : "client frames must be masked",
      );
    }
    let len = b1 & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (q.length < 4) return null;
      len = (q.at(2) << 8) | q.at(3);
      offset = 4;
    } else if (len === 127) {
      if (q.length < 10) return null;
      const high = ((q.at(2) << 24) | (q.at(3) << 16) | (q.at(4) << 8) | q.at(5)) >>> 0;
      const low = ((q.at(6) << 24) | (q.at(7) << 16) | (q.at(8) << 8) | q.at(9)) >>> 0;
      if (high >= 0x80000000) throw new WebSocketProtocolError(1002, "64-bit length with the top bit set");
      len = high * 2 ** 32 + low;
      offset = 10;
    }
    if (isControlOpcode(opcode)) {
      if (!fin) throw new WebSocketProtocolError(1002, "fragmented control frame");
      if (len > MAX_CONTROL_PAYLOAD_BYTES)
        throw new WebSocketProtocolError(1002, "control frame payload over 125 bytes");
    } else if (len > this.#opts.maxMessageBytes) {
      throw new WebSocketProtocolError(
        1009,
        `frame of ${len} bytes exceeds the ${this.#opts.maxMessageBytes}-byte limit`,
      );
    }
    const maskBytes = masked ? 4 : 0;
    if (q.length < offset + maskBytes + len) return null;
    q.take(offset);
    const mask = masked ? q.take(4).slice() : null;
    let payload = q.take(len);
    if (mask) {
      // Unmask into a fresh copy: the queued chunk may be shared with the caller.
      const copy = new Uint8Array(len);
      for (let i = 0; i < len; i++) copy[i] = payload[i]! ^ mask[i & 3]!;
      payload = copy;
    }
    return { fin, opcode, payload };
  }
}

/**
 * Reassembles frames into messages and control events, enforcing the fragmentation rules of
 * RFC 6455 §5.4, UTF-8 validity of text (§8.1) and the maximum message size.
 */
export class MessageAssembler {
  readonly #maxMessageBytes: number;
  #kind: "text" | "binary" | null = null;
  #parts: Uint8Array[] = [];
  #size = 0;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes held for an unfinished fragmented message. */
  get bufferedBytes(): number {
    return this.#size;
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
      case Opcode.binary:
        if (this.#kind !== null)
          throw new WebSocketProtocolError(1002, "new data frame inside a fragmented message");
        if (frame.fin) return this.#finish(frame.opcode === Opcode.text ? "text" : "binary", frame.payload);
        this.#kind = frame.opcode === Opcode.text ? "text" : "binary";
        this.#add(frame.payload);
        return null;
      case Opcode.continuation: {
        const kind = this.#kind;
        if (kind === null)
          throw new WebSocketProtocolError(1002, "continuation frame without a message to continue");
        this.#add(frame.payload);
        if (!frame.fin) return null;
        const whole = concatBytes(this.#parts, this.#size);
        this.#kind = null;
        this.#parts = [];
        this.#size = 0;
        return this.#finish(kind, whole);
      }
      default:
        throw new WebSocketProtocolError(1002, `unexpected opcode ${frame.opcode}`);
    }
  }

  #add(payload: Uint8Array): void {
    this.#size += payload.length;
    if (this.#size > this.#maxMessageBytes) {
      throw new WebSocketProtocolError(1009, `message exceeds the ${this.#maxMessageBytes}-byte limit`);
    }
    this.#parts.push(payload);
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

  constructor(opts: FrameDecoderOptions) {
    this.#decoder = new FrameDecoder(opts);
    this.#assembler = new MessageAssembler(opts.maxMessageBytes);
  }

  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes + this.#assembler.bufferedBytes;
  }

  push(chunk: Uint8Array): WsEvent[] {
    const events: WsEvent[] = [];
    for (const frame of this.#decoder.push(chunk)) {
      const event = this.#assembler.accept(frame);
      if (event !== null) events.push(event);
    }
    return events;
  }
}

/**
 * The RFC 6455 codec, pure: frame encoding with masking and 7/16/64-bit lengths, close code +
 * reason, UTF-8 validation, and the definitions shared with the decoding half (`ws-reader.ts`:
 * frame decoding, reassembly of fragmented messages, control frames, maximum message size). No I/O,
 * no randomness: the caller supplies mask keys, so tests are deterministic.
 */

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §5.5: control frames carry at most 125 payload bytes. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;
/** A close reason fits in a control frame after the two code bytes. */
export const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD_BYTES - 2;
/** Close code meaning "no status code was present" (never sent on the wire, RFC 6455 §7.4.1). */
export const CLOSE_NO_STATUS = 1005;
/** Close code meaning "the connection dropped without a close frame" (never sent on the wire). */
export const CLOSE_ABNORMAL = 1006;

/** A protocol violation by the peer; `closeCode` is what we send back before dropping the connection. */
export class WebSocketProtocolError extends Error {
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = "WebSocketProtocolError";
    this.closeCode = closeCode;
  }
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

export type WsEvent =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; payload: Uint8Array }
  | { type: "pong"; payload: Uint8Array }
  | { type: "close"; code: number; reason: string };

const utf8Encoder = new TextEncoder();

/** Strict UTF-8 decoding; invalid text is a 1007 close (RFC 6455 §8.1). */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new WebSocketProtocolError(1007, "invalid UTF-8 in text data");
  }
}

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/**
 * Encodes one frame. `mask` is a 4-byte key (clients must mask every frame, RFC 6455 §5.3) or null
 * (servers never mask).
 */
export function encodeFrame(frame: Frame, mask: Uint8Array | null): Uint8Array {
  const { payload, opcode } = frame;
  if (isControlOpcode(opcode)) {
    if (!frame.fin) throw new RangeError("control frames cannot be fragmented");
    if (payload.length > MAX_CONTROL_PAYLOAD_BYTES)
      throw new RangeError("control frame payload over 125 bytes");
  }
  if (mask !== null && mask.length !== 4) throw new RangeError("mask key must be 4 bytes");
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  const headerBytes = 2 + lenBytes + (mask ? 4 : 0);
  const out = new Uint8Array(headerBytes + len);
  out[0] = (frame.fin ? 0x80 : 0) | (opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  if (lenBytes === 0) {
    out[1] = maskBit | len;
  } else if (lenBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = maskBit | 127;
    const view = new DataView(out.buffer, out.byteOffset + 2, 8);
    view.setUint32(0, Math.floor(len / 2 ** 32));
    view.setUint32(4, len >>> 0);
  }
  const body = headerBytes;
  if (mask) {
    out.set(mask, 2 + lenBytes);
    for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  } else {
    out.set(payload, body);
  }
  return out;
}

/**
 * Encodes a whole message as one frame, or as several when `maxFramePayloadBytes` is given and the
 * payload is larger. `nextMask` is called once per frame (null for unmasked server frames).
 */
export function encodeMessage(
  kind: "text" | "binary",
  data: string | Uint8Array,
  nextMask: (() => Uint8Array) | null,
  maxFramePayloadBytes = Number.POSITIVE_INFINITY,
): Uint8Array[] {
  const payload = typeof data === "string" ? utf8Encoder.encode(data) : data;
  const frames: Uint8Array[] = [];
  let offset = 0;
  do {
    const end = Math.min(payload.length, offset + maxFramePayloadBytes);
    const first = offset === 0;
    const opcode = first ? (kind === "text" ? Opcode.text : Opcode.binary) : Opcode.continuation;
    frames.push(
      encodeFrame(
        { fin: end === payload.length, opcode, payload: payload.subarray(offset, end) },
        nextMask?.() ?? null,
      ),
    );
    offset = end;
  } while (offset < payload.length);
  return frames;
}

/** Close codes an endpoint may put on the wire (RFC 6455 §7.4, IANA registry). */
export function isSendableCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== CLOSE_NO_STATUS && code !== CLOSE_ABNORMAL;
}

/** Truncates a reason to `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = utf8Encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** Close frame payload: empty when `code` is undefined or 1005, else code + reason (truncated to fit). */
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined || code === CLOSE_NO_STATUS) return new Uint8Array(0);
  if (!isSendableCloseCode(code)) throw new RangeError(`close code ${code} cannot be sent`);
  const reasonBytes = utf8Encoder.encode(truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  const out = new Uint8Array(2 + reasonBytes.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(reasonBytes, 2);
  return out;
}

export function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CLOSE_NO_STATUS, reason: "" };
  if (payload.length === 1) throw new WebSocketProtocolError(1002, "close frame with a 1-byte payload");
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isSendableCloseCode(code)) throw new WebSocketProtocolError(1002, `invalid close code ${code}`);
  return { code, reason: decodeUtf8Strict(payload.subarray(2)) };
}

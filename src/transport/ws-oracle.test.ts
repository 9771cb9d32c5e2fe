/**
 * The `ws` library as an oracle for our RFC 6455 codec (dev dependency only; nothing of it is bundled):
 * random messages encoded by `ws-frame.ts` are read by `ws`'s Receiver, frames written by `ws`'s Sender
 * are read by `ws-reader.ts`, and single-byte corruptions of a valid stream must get the same verdict
 * from both readers. Payload sizes sit on the 7/16/64-bit length boundaries (125/126, 65,535/65,536),
 * messages are fragmented with control frames between the fragments, and the byte stream is cut into
 * arbitrary slices.
 *
 * Both readers get the same limits: the maximum message size and `MAX_MESSAGE_FRAGMENTS`, which is
 * what `ws`'s WebSocket class gives its Receiver by default (the bare Receiver has no fragment limit).
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeClosePayload, encodeFrame, encodeMessage, type Frame, Opcode, type WsEvent } from "./ws-frame";
import { MAX_MESSAGE_FRAGMENTS, WsReader } from "./ws-reader";

interface WsReceiver {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: "ping" | "pong", listener: (data: Buffer) => void): void;
  on(event: "conclude", listener: (code: number, reason: Buffer) => void): void;
  on(event: "error", listener: (error: Error & Record<symbol, number>) => void): void;
  write(chunk: Buffer): boolean;
}
interface WsFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
  generateMask?: (mask: Buffer) => void;
}
const require = createRequire(import.meta.url);
// `@types/ws` does not describe Receiver and Sender; these are the parts the oracle uses.
const ws = require("ws") as {
  Receiver: new (options: {
    isServer: boolean;
    maxPayload: number;
    maxFragments: number;
    binaryType: "nodebuffer";
  }) => WsReceiver;
  Sender: { frame(data: Buffer, options: WsFrameOptions): Buffer[] };
};
/** The close code `ws` attaches to a Receiver error (under its private `status-code` symbol). */
function statusCodeOf(error: Error & Record<symbol, number>): number {
  const key = Object.getOwnPropertySymbols(error).find((k) => k.description === "status-code");
  return key === undefined ? -1 : (error[key] ?? -1);
}

const MAX_MESSAGE_BYTES = 1 << 20;
/** Payload sizes on both sides of each length-encoding boundary. */
const BOUNDARY_SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 65_537];

type Message = { kind: "text"; text: string } | { kind: "binary"; bytes: Uint8Array };
type Outcome = { events: string[]; error: number | null };

/** Deterministic bytes from a seed (xorshift32), so large payloads cost no shrinking. */
function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A text of exactly `size` UTF-8 bytes: random characters first, ASCII padding after. */
function textOf(prefix: string, size: number): string {
  let head = "";
  let used = 0;
  for (const ch of prefix) {
    const n = Buffer.byteLength(ch);
    if (used + n > size) break;
    head += ch;
    used += n;
  }
  return head + "a".repeat(size - used);
}

const size = fc.oneof(fc.constantFrom(...BOUNDARY_SIZES), fc.nat(400));
const message: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({ size, seed: fc.integer() })
    .map(({ size, seed }) => ({ kind: "binary" as const, bytes: bytesOf(size, seed) })),
  fc
    .record({ size, prefix: fc.string({ unit: "grapheme", maxLength: 30 }) })
    .map(({ size, prefix }) => ({ kind: "text" as const, text: textOf(prefix, size) })),
);
/** A message, how many fragments it is sent in, and whether a ping goes between its fragments. */
const plannedMessage = fc.record({ message, fragments: fc.integer({ min: 1, max: 5 }), ping: fc.boolean() });
const closing = fc.option(
  fc.record({
    code: fc.constantFrom(1000, 1001, 1003, 1008, 1011, 3000, 4999),
    reason: fc.string({ maxLength: 40 }).map((s) => textOf(s, Math.min(Buffer.byteLength(s), 123))),
  }),
);
const scenario = fc.record({
  messages: fc.array(plannedMessage, { minLength: 1, maxLength: 4 }),
  close: closing,
  /** `client`: the writer masks its frames (the reader is the server). */
  writer: fc.constantFrom("client", "server"),
  maskSeed: fc.integer(),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const payloadOf = (m: Message): Uint8Array => (m.kind === "text" ? Buffer.from(m.text) : m.bytes);
const describeMessage = (m: Message): string =>
  m.kind === "text" ? `text:${m.text}` : `binary:${Buffer.from(m.bytes).toString("hex")}`;
const PING = Buffer.from("between fragments");

/** What a correct reader reports for the scenario, in the oracle's vocabulary. */
function expected(s: Scenario): Outcome {
  const events: string[] = [];
  for (const { message, fragments, ping } of s.messages) {
    const payload = payloadOf(message);
    const split = payload.length > fragmentSize(payload, fragments);
    if (ping && split) events.push(`ping:${PING.toString("hex")}`);
    events.push(describeMessage(message));
  }
  if (s.close) events.push(`close:${s.close.code}:${s.close.reason}`);
  return { events, error: null };
}

function fragmentSize(payload: Uint8Array, fragments: number): number {
  return Math.max(1, Math.ceil(payload.length / fragments));
}

/** Cuts `bytes` at the given points (taken modulo its length): arbitrary read boundaries. */
function slices(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

/** Mask keys in a fixed order from a seed, so both encoders can be given the same ones. */
function maskSource(seed: number): () => Uint8Array {
  const keys = bytesOf(4 * 1024, seed);
  let next = 0;
  return () => {
    const at = (next++ % 1024) * 4;
    return keys.subarray(at, at + 4);
  };
}

/** The stream our encoder writes for the scenario. */
function encodeOurs(s: Scenario): Uint8Array {
  const masks = maskSource(s.maskSeed);
  const nextMask = s.writer === "client" ? masks : null;
  const frames: Uint8Array[] = [];
  for (const { message, fragments, ping } of s.messages) {
    const payload = payloadOf(message);
    const encoded = encodeMessage(message.kind, payload, nextMask, fragmentSize(payload, fragments));
    encoded.forEach((frame, i) => {
      frames.push(frame);
      if (ping && i === 0 && encoded.length > 1) {
        frames.push(encodeFrame({ fin: true, opcode: Opcode.ping, payload: PING }, nextMask?.() ?? null));
      }
    });
  }
  if (s.close) {
    const payload = encodeClosePayload(s.close.code, s.close.reason);
    frames.push(encodeFrame({ fin: true, opcode: Opcode.close, payload }, nextMask?.() ?? null));
  }
  return concat(frames);
}

/** The stream `ws`'s Sender writes for the scenario. */
function encodeWs(s: Scenario): Uint8Array {
  const masks = maskSource(s.maskSeed);
  const frame = (f: Frame): Buffer[] =>
    ws.Sender.frame(Buffer.from(f.payload), {
      fin: f.fin,
      opcode: f.opcode,
      mask: s.writer === "client",
      readOnly: true,
      rsv1: false,
      generateMask: (mask) => mask.set(masks()),
    });
  const parts: Buffer[] = [];
  for (const { message, fragments, ping } of s.messages) {
    const payload = payloadOf(message);
    const step = fragmentSize(payload, fragments);
    const framed: Buffer[][] = [];
    let offset = 0;
    do {
      const end = Math.min(payload.length, offset + step);
      const opcode =
        offset === 0 ? (message.kind === "text" ? Opcode.text : Opcode.binary) : Opcode.continuation;
      framed.push(frame({ fin: end === payload.length, opcode, payload: payload.subarray(offset, end) }));
      offset = end;
    } while (offset < payload.length);
    // The ping is masked after the message's fragments, in the order our encoder draws mask keys.
    if (ping && framed.length > 1)
      framed.splice(1, 0, frame({ fin: true, opcode: Opcode.ping, payload: PING }));
    for (const f of framed) parts.push(...f);
  }
  if (s.close) {
    parts.push(
      ...frame({
        fin: true,
        opcode: Opcode.close,
        payload: encodeClosePayload(s.close.code, s.close.reason),
      }),
    );
  }
  return concat(parts);
}

/** Feeds the slices to `ws`'s Receiver; `masked` says whether the writer was a client. */
async function readWithWs(chunks: readonly Uint8Array[], masked: boolean): Promise<Outcome> {
  const receiver = new ws.Receiver({
    isServer: masked,
    maxPayload: MAX_MESSAGE_BYTES,
    maxFragments: MAX_MESSAGE_FRAGMENTS,
    binaryType: "nodebuffer",
  });
  const outcome: Outcome = { events: [], error: null };
  receiver.on("message", (data, isBinary) =>
    outcome.events.push(isBinary ? `binary:${data.toString("hex")}` : `text:${data.toString("utf8")}`),
  );
  receiver.on("ping", (data) => outcome.events.push(`ping:${data.toString("hex")}`));
  receiver.on("pong", (data) => outcome.events.push(`pong:${data.toString("hex")}`));
  receiver.on("conclude", (code, reason) => outcome.events.push(`close:${code}:${reason.toString("utf8")}`));
  receiver.on("error", (error) => {
    outcome.error ??= statusCodeOf(error);
  });
  for (const chunk of chunks) receiver.write(Buffer.from(chunk));
  // The Receiver reports a violation through the stream's error event, a tick later.
  await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}

function readWithOurs(chunks: readonly Uint8Array[], masked: boolean): Outcome {
  const reader = new WsReader({ role: masked ? "server" : "client", maxMessageBytes: MAX_MESSAGE_BYTES });
  const outcome: Outcome = { events: [], error: null };
  const describe = (e: WsEvent): string => {
    switch (e.type) {
      case "text":
        return `text:${e.data}`;
      case "binary":
        return `binary:${Buffer.from(e.data).toString("hex")}`;
      case "ping":
      case "pong":
        return `${e.type}:${Buffer.from(e.payload).toString("hex")}`;
      case "close":
        return `close:${e.code}:${e.reason}`;
    }
  };
  try {
    for (const chunk of chunks) {
      for (const event of reader.push(chunk)) {
        outcome.events.push(describe(event));
        // Like the Receiver, stop reading at a close frame: nothing after it is for the application.
        if (event.type === "close") return outcome;
      }
    }
  } catch (error) {
    outcome.error = (error as { closeCode?: number }).closeCode ?? -1;
  }
  return outcome;
}

const RUNS = { numRuns: 100 };

describe("WebSocket codec against the ws library", () => {
  it("ws's Receiver reads what our encoder writes, in any slicing", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const chunks = slices(encodeOurs(s), s.cuts);
        expect(await readWithWs(chunks, s.writer === "client")).toEqual(expected(s));
      }),
      RUNS,
    );
  }, 60_000);

  it("our reader reads what ws's Sender writes, in any slicing", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const chunks = slices(encodeWs(s), s.cuts);
        expect(readWithOurs(chunks, s.writer === "client")).toEqual(expected(s));
      }),
      RUNS,
    );
  }, 60_000);

  it("both encoders write the same bytes for the same frames and masks", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(Buffer.from(encodeOurs(s)).equals(Buffer.from(encodeWs(s)))).toBe(true);
      }),
      RUNS,
    );
  }, 60_000);

  it("both readers give the same verdict on a stream with one corrupted byte", async () => {
    const corrupted = fc.record({ s: scenario, at: fc.nat(), flip: fc.integer({ min: 1, max: 255 }) });
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(corrupted, async ({ s, at, flip }) => {
        const bytes = encodeOurs(s).slice();
        bytes[at % bytes.length]! ^= flip;
        const chunks = slices(bytes, s.cuts);
        const masked = s.writer === "client";
        const theirs = await readWithWs(chunks, masked);
        const ours = readWithOurs(chunks, masked);
        if (ours.error !== null) refused++;
        // Deliberate difference: a 64-bit length whose top bit is set is a protocol error for us (1002), as RFC 6455
        // §5.2 says ("the most significant bit MUST be 0"); ws reports it as a length it cannot handle (1009).
        // Both refuse the stream at the same frame, so what was delivered before must still agree.
        if (ours.error === 1002 && theirs.error === 1009 && firstLengthWithTopBit(bytes)) {
          expect(ours.events).toEqual(theirs.events);
          return;
        }
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 300 },
    );
    // Not a vacuous agreement: many corruptions are violations both readers must catch.
    expect(refused).toBeGreaterThan(50);
  }, 120_000);
});

/** Walks the frame headers of `bytes` and says whether one declares a 64-bit length with its top bit set. */
function firstLengthWithTopBit(bytes: Uint8Array): boolean {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const len7 = bytes[at + 1]! & 0x7f;
    const mask = bytes[at + 1]! & 0x80 ? 4 : 0;
    if (len7 === 127) {
      if (at + 10 > bytes.length) return false;
      if (bytes[at + 2]! >= 0x80) return true;
      const view = new DataView(bytes.buffer, bytes.byteOffset + at + 2, 8);
      at += 10 + mask + Number(view.getBigUint64(0));
    } else if (len7 === 126) {
      if (at + 4 > bytes.length) return false;
      at += 4 + mask + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    } else {
      at += 2 + mask + len7;
    }
  }
  return false;
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes } from "./bytes";
import {
  encodeClosePayload,
  encodeFrame,
  encodeMessage,
  Opcode,
  parseClosePayload,
  truncateUtf8,
  WebSocketProtocolError,
  type WsEvent,
} from "./ws-frame";
import { FrameDecoder, WsReader } from "./ws-reader";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const enc = new TextEncoder();

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function protocolError(fn: () => unknown): WebSocketProtocolError {
  try {
    const out = fn();
    // WsReader.push decodes lazily, as its events are iterated.
    if (out !== null && typeof out === "object" && Symbol.iterator in out) [...(out as Iterable<unknown>)];
  } catch (err) {
    if (err instanceof WebSocketProtocolError) return err;
    throw err;
  }
  throw new Error("expected a WebSocketProtocolError");
}

describe("encodeFrame", () => {
  it("matches the RFC 6455 §5.7 examples", () => {
    const hello = enc.encode("Hello");
    expect([...encodeFrame({ fin: true, opcode: Opcode.text, payload: hello }, null)]).toEqual([
      0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
    ]);
    expect([...encodeFrame({ fin: true, opcode: Opcode.text, payload: hello }, MASK)]).toEqual([
      0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    expect([...encodeFrame({ fin: false, opcode: Opcode.text, payload: enc.encode("Hel") }, null)]).toEqual([
      0x01, 0x03, 0x48, 0x65, 0x6c,
    ]);
  });

  it("uses 7, 16 and 64-bit lengths at the boundaries", () => {
    const header = (n: number) => [
      ...encodeFrame({ fin: true, opcode: Opcode.binary, payload: new Uint8Array(n) }, null).subarray(0, 10),
    ];
    expect(header(125).slice(0, 2)).toEqual([0x82, 125]);
    expect(header(126).slice(0, 4)).toEqual([0x82, 126, 0x00, 126]);
    expect(header(65535).slice(0, 4)).toEqual([0x82, 126, 0xff, 0xff]);
    expect(header(65536)).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it("refuses oversized or fragmented control frames", () => {
    expect(() => encodeFrame({ fin: true, opcode: Opcode.ping, payload: new Uint8Array(126) }, null)).toThrow(
      RangeError,
    );
    expect(() => encodeFrame({ fin: false, opcode: Opcode.ping, payload: new Uint8Array(1) }, null)).toThrow(
      RangeError,
    );
  });
});

describe("round trips (fast-check)", () => {
  it("any frame sequence survives encode → arbitrary chunking → decode, masked or not", () => {
    const frameArb = fc.record({
      fin: fc.boolean(),
      opcode: fc.constantFrom(0, 1, 2),
      payload: fc.uint8Array({ maxLength: 70_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, masked, cuts) => {
          const wire = concatBytes(frames.map((f) => encodeFrame(f, masked ? MASK : null)));
          const decoder = new FrameDecoder({ role: masked ? "server" : "client", maxMessageBytes: 1 << 20 });
          const out = splitAt(wire, cuts).flatMap((c) => decoder.push(c));
          expect(out.map((f) => ({ fin: f.fin, opcode: f.opcode, payload: [...f.payload] }))).toEqual(
            frames.map((f) => ({ fin: f.fin, opcode: f.opcode, payload: [...f.payload] })),
          );
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("messages split into fragments, interleaved with pings, reassemble exactly (text stays text)", () => {
    const msgArb = fc.oneof(
      fc.record({
        kind: fc.constant("text" as const),
        data: fc.string({ unit: "grapheme", maxLength: 300 }),
      }),
      fc.record({ kind: fc.constant("binary" as const), data: fc.uint8Array({ maxLength: 3000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(msgArb, { maxLength: 8 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, frameSize, cuts) => {
          const parts: Uint8Array[] = [];
          for (const m of msgs) {
            const frames = encodeMessage(m.kind, m.data, () => MASK, frameSize);
            // A ping between fragments is legal (RFC 6455 §5.4) and must come out before the message.
            parts.push(
              frames[0]!,
              encodeFrame({ fin: true, opcode: Opcode.ping, payload: enc.encode("p") }, MASK),
              ...frames.slice(1),
            );
          }
          const reader = new WsReader({ role: "server", maxMessageBytes: 1 << 20 });
          const events = splitAt(concatBytes(parts), cuts).flatMap((c) => [...reader.push(c)]);
          const messages = events.filter((e) => e.type !== "ping");
          expect(events.filter((e) => e.type === "ping")).toHaveLength(msgs.length);
          expect(messages).toEqual(msgs.map((m) => ({ type: m.kind, data: m.data })));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("close payloads round-trip for every sendable code", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
          fc.integer({ min: 3000, max: 4999 }),
        ),
        fc.string({ maxLength: 200 }),
        (code, reason) => {
          const payload = encodeClosePayload(code, reason);
          expect(payload.length).toBeLessThanOrEqual(125);
          const parsed = parseClosePayload(payload);
          expect(parsed.code).toBe(code);
          expect(reason.startsWith(parsed.reason)).toBe(true);
        },
      ),
    );
  });
});

describe("WsReader", () => {
  const reader = (max = 1024) => new WsReader({ role: "client", maxMessageBytes: max });
  const frame = (opcode: number, payload: Uint8Array | string, fin = true) =>
    encodeFrame({ fin, opcode, payload: typeof payload === "string" ? enc.encode(payload) : payload }, null);

  it("reports close code and reason, and 1005 for an empty close", () => {
    const events: WsEvent[] = [
      ...reader().push(
        concatBytes([
          frame(Opcode.close, encodeClosePayload(4001, "bye ✓")),
          frame(Opcode.close, new Uint8Array(0)),
        ]),
      ),
    ];
    expect(events).toEqual([
      { type: "close", code: 4001, reason: "bye ✓" },
      { type: "close", code: 1005, reason: "" },
    ]);
  });

  it("rejects invalid UTF-8 text with 1007, also across fragments", () => {
    expect(
      protocolError(() => reader().push(frame(Opcode.text, new Uint8Array([0xc3, 0x28])))).closeCode,
    ).toBe(1007);
    const r = reader();
    // "é" = c3 a9 split across two fragments is valid.
    expect([
      ...r.push(
        concatBytes([
          frame(Opcode.text, new Uint8Array([0xc3]), false),
          frame(Opcode.continuation, new Uint8Array([0xa9])),
        ]),
      ),
    ]).toEqual([{ type: "text", data: "é" }]);
  });

  it("enforces the max message size with 1009, per frame and across fragments", () => {
    expect(protocolError(() => reader(10).push(frame(Opcode.binary, new Uint8Array(11)))).closeCode).toBe(
      1009,
    );
    const r = reader(10);
    expect([...r.push(frame(Opcode.binary, new Uint8Array(6), false))]).toEqual([]);
    expect(protocolError(() => r.push(frame(Opcode.continuation, new Uint8Array(6)))).closeCode).toBe(1009);
    // The header alone is enough to refuse: the payload is never buffered.
    expect(
      protocolError(() => reader(10).push(new Uint8Array([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]))).closeCode,
    ).toBe(1009);
  });

  it("rejects protocol violations with 1002", () => {
    const cases: Uint8Array[] = [
      new Uint8Array([0xc1, 0x00]), // RSV1 without an extension
      new Uint8Array([0x83, 0x00]), // reserved opcode
      new Uint8Array([0x09, 0x00]), // fragmented ping
      new Uint8Array([0x80, 0x00]), // continuation with nothing to continue
      new Uint8Array([0x81, 0x80, 0, 0, 0, 0]), // masked frame from a server
      new Uint8Array([0x88, 0x01, 0x03]), // 1-byte close payload
      frame(Opcode.close, new Uint8Array([0x03, 0xed])), // close code 1005 on the wire
      concatBytes([frame(Opcode.text, "a", false), frame(Opcode.binary, "b")]), // new message mid-fragmentation
    ];
    for (const bytes of cases) expect(protocolError(() => reader().push(bytes)).closeCode).toBe(1002);
  });

  it("decodes a 64-bit length frame (1 MiB) delivered byte-chunked", () => {
    const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const wire = frame(Opcode.binary, big);
    const r = reader(2 << 20);
    const events: WsEvent[] = [];
    for (let i = 0; i < wire.length; i += 4093) events.push(...r.push(wire.subarray(i, i + 4093)));
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.type).toBe("binary");
    // Compare as Buffers: a deep element-wise toEqual over 1 MiB is needlessly slow.
    expect(event.type === "binary" && Buffer.from(event.data).equals(Buffer.from(big))).toBe(true);
  });
});

describe("truncateUtf8", () => {
  it("never splits a character", () => {
    expect(truncateUtf8("ab€", 4)).toBe("ab");
    expect(truncateUtf8("ab€", 5)).toBe("ab€");
  });
});

import { describe, expect, it } from "vitest";
import { concatBytes } from "./bytes";
import { encodeFrame, Opcode, WebSocketProtocolError, type WsEvent } from "./ws-frame";
import { MAX_MESSAGE_FRAGMENTS, WsReader } from "./ws-reader";

/**
 * Memory of the decoding half (issue 11, item 10): what a reader keeps for an unfinished frame or
 * message must follow the payload, not the number or the size of the reads it arrived in.
 */

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const MiB = 1024 * 1024;
const enc = new TextEncoder();

const frame = (opcode: number, payload: Uint8Array | string, fin = true, mask: Uint8Array | null = null) =>
  encodeFrame({ fin, opcode, payload: typeof payload === "string" ? enc.encode(payload) : payload }, mask);

/** Events of one push, collected one at a time, plus the error that ended the iteration (if any). */
function drain(reader: WsReader, chunk: Uint8Array): { events: WsEvent[]; error: unknown } {
  const events: WsEvent[] = [];
  try {
    for (const event of reader.push(chunk)) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: null };
}

/** A read the way a socket delivers it: a fresh buffer of `capacity` bytes with `bytes` at its start. */
function readOf(bytes: Uint8Array, capacity = bytes.length): Uint8Array {
  const buffer = new Uint8Array(capacity);
  buffer.set(bytes);
  return buffer.subarray(0, bytes.length);
}

describe("WsReader: fragment bound", () => {
  it(`fails a message of more than ${MAX_MESSAGE_FRAGMENTS} fragments with 1008, empty ones included`, () => {
    const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
    const first = frame(Opcode.text, "", false);
    const empty = frame(Opcode.continuation, "", false);
    // Exactly at the bound: the first fragment plus MAX - 1 continuations is still a message in progress.
    const atBound = concatBytes([first, ...Array.from({ length: MAX_MESSAGE_FRAGMENTS - 1 }, () => empty)]);
    expect(drain(reader, atBound)).toEqual({ events: [], error: null });
    const { events, error } = drain(reader, empty);
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(WebSocketProtocolError);
    expect((error as WebSocketProtocolError).closeCode).toBe(1008);
    expect((error as WebSocketProtocolError).message).toContain(`${MAX_MESSAGE_FRAGMENTS}`);
  });

  it("counts fragments per message: the count starts again after each message", () => {
    const reader = new WsReader({ role: "server", maxMessageBytes: 16 * MiB });
    const message = concatBytes([
      frame(Opcode.binary, "a", false, MASK),
      ...Array.from({ length: MAX_MESSAGE_FRAGMENTS - 2 }, () => frame(Opcode.continuation, "", false, MASK)),
      frame(Opcode.continuation, "b", true, MASK),
    ]);
    for (let i = 0; i < 3; i++) {
      const { events, error } = drain(reader, message);
      expect(error).toBeNull();
      expect(events).toEqual([{ type: "binary", data: enc.encode("ab") }]);
    }
  });
});

describe("WsReader: retained memory follows the payload", () => {
  it("262,144 one-byte reads inside one frame keep one buffer of the payload's size", () => {
    const payloadBytes = 262_144 + 16;
    const payload = new Uint8Array(payloadBytes).map((_, i) => i % 251);
    const wire = frame(Opcode.binary, payload);
    const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
    const events: WsEvent[] = [];
    // Every read is its own one-byte buffer, as a socket that trickles would deliver them.
    for (let i = 0; i < wire.length - 1; i++) events.push(...reader.push(readOf(wire.subarray(i, i + 1))));
    expect(events).toEqual([]);
    expect(reader.bufferedBytes).toBe(wire.length - 1);
    expect(reader.retainedChunks).toBeLessThanOrEqual(1);
    expect(reader.retainedBytes).toBeLessThanOrEqual(payloadBytes);
    events.push(...reader.push(readOf(wire.subarray(wire.length - 1))));
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.type === "binary" && Buffer.from(event.data).equals(Buffer.from(payload))).toBe(true);
    expect(reader.retainedChunks).toBe(0);
    expect(reader.retainedBytes).toBe(0);
  });

  it("one-byte reads of a fragmented, masked message keep at most two buffers", () => {
    const parts = ["hello ", "fragmented ", "world"];
    const wire = concatBytes(
      parts.map((p, i) =>
        frame(i === 0 ? Opcode.text : Opcode.continuation, p, i === parts.length - 1, MASK),
      ),
    );
    const reader = new WsReader({ role: "server", maxMessageBytes: 16 * MiB });
    const events: WsEvent[] = [];
    let maxChunks = 0;
    let maxRetained = 0;
    for (let i = 0; i < wire.length; i++) {
      events.push(...reader.push(readOf(wire.subarray(i, i + 1))));
      maxChunks = Math.max(maxChunks, reader.retainedChunks);
      maxRetained = Math.max(maxRetained, reader.retainedBytes);
    }
    expect(events).toEqual([{ type: "text", data: parts.join("") }]);
    expect(maxChunks).toBeLessThanOrEqual(2);
    // The message so far (at most twice its size while growing) plus the frame in progress.
    expect(maxRetained).toBeLessThanOrEqual(3 * enc.encode(parts.join("")).length);
  });

  it("a message left open at the end of a 64 KiB read does not keep that read alive", () => {
    const big = frame(Opcode.binary, new Uint8Array(60_000).fill(7));
    // A whole first fragment, then the header and 5 of the 100 payload bytes of the second.
    const open = concatBytes([
      frame(Opcode.text, "abc", false),
      frame(Opcode.continuation, "x".repeat(100), false).subarray(0, 2 + 5),
    ]);
    const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
    const { events, error } = drain(reader, readOf(concatBytes([big, open]), 64 * 1024));
    expect(error).toBeNull();
    expect(events).toHaveLength(1);
    expect(reader.bufferedBytes).toBe(3 + 2 + 5);
    // What stays is a copy of the 3 + 5 payload bytes (and room for the 100-byte frame), not the read.
    expect(reader.retainedBytes).toBeLessThanOrEqual(3 + 100);
    expect(reader.retainedChunks).toBeLessThanOrEqual(2);
  });

  it("a header split across reads keeps nothing of the read it started in", () => {
    const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
    const wire = frame(Opcode.binary, new Uint8Array(70_000).fill(1));
    // The 64-bit length header is cut after 5 of its 10 bytes, at the end of a large read.
    const head = concatBytes([frame(Opcode.text, "x".repeat(50_000)), wire.subarray(0, 5)]);
    expect(drain(reader, readOf(head, 64 * 1024)).events).toHaveLength(1);
    expect(reader.retainedBytes).toBe(0);
    const rest = drain(reader, readOf(wire.subarray(5)));
    expect(rest.error).toBeNull();
    expect(rest.events).toHaveLength(1);
  });
});

describe("WsReader: messages before a protocol error", () => {
  it("delivers the messages decoded before the error in the same read, then fails", () => {
    const reader = new WsReader({ role: "client", maxMessageBytes: 1024 });
    const wire = concatBytes([
      frame(Opcode.text, "first"),
      frame(Opcode.ping, "p"),
      frame(Opcode.binary, new Uint8Array([1, 2, 3])),
      new Uint8Array([0x83, 0x00]), // reserved opcode
      frame(Opcode.text, "never"),
    ]);
    const { events, error } = drain(reader, wire);
    expect(events).toEqual([
      { type: "text", data: "first" },
      { type: "ping", payload: enc.encode("p") },
      { type: "binary", data: new Uint8Array([1, 2, 3]) },
    ]);
    expect((error as WebSocketProtocolError).closeCode).toBe(1002);
    // The reader stays failed: nothing after the violation is ever decoded.
    expect((drain(reader, frame(Opcode.text, "later")).error as WebSocketProtocolError).closeCode).toBe(1002);
  });

  it("delivers a message completed in the same read as an oversized frame, then fails with 1009", () => {
    const reader = new WsReader({ role: "client", maxMessageBytes: 10 });
    const wire = concatBytes([
      frame(Opcode.text, "ab", false),
      frame(Opcode.continuation, "cd"),
      frame(Opcode.binary, new Uint8Array(11)),
    ]);
    const { events, error } = drain(reader, wire);
    expect(events).toEqual([{ type: "text", data: "abcd" }]);
    expect((error as WebSocketProtocolError).closeCode).toBe(1009);
  });

  it("stays failed after a message-level violation (1008) too", () => {
    const reader = new WsReader({ role: "client", maxMessageBytes: 1024 });
    const wire = concatBytes([
      frame(Opcode.binary, "", false),
      ...Array.from({ length: MAX_MESSAGE_FRAGMENTS }, () => frame(Opcode.continuation, "", false)),
    ]);
    expect((drain(reader, wire).error as WebSocketProtocolError).closeCode).toBe(1008);
    expect((drain(reader, frame(Opcode.text, "ok")).error as WebSocketProtocolError).closeCode).toBe(1008);
  });
});

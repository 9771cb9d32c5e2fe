import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FramedEvent, SseFramer } from "./sse-framer";

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(event: FramedEvent): string {
  return event.map((part) => dec.decode(part, { stream: true })).join("") + dec.decode();
}

function frameAll(chunks: Uint8Array[]): { events: string[]; open: string } {
  const framer = new SseFramer();
  const events: string[] = [];
  for (const chunk of chunks) for (const event of framer.push(chunk)) events.push(text(event));
  return { events, open: text(framer.takeOpen()) };
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  parts.push(bytes.subarray(prev));
  return parts;
}

describe("SseFramer", () => {
  it.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["CR", "\r"],
  ])("ends events at a blank line written with %s", (_name, eol) => {
    const stream = `event: a${eol}data: 1${eol}${eol}data: 2${eol}${eol}data: 3`;
    const { events, open } = frameAll([enc.encode(stream)]);
    expect(events).toEqual([`event: a${eol}data: 1${eol}${eol}`, `data: 2${eol}${eol}`]);
    expect(open).toBe("data: 3");
  });

  it("keeps a CRLF blank line whole even when split between reads", () => {
    const { events, open } = frameAll([enc.encode("data: 1\r\n\r"), enc.encode("\ndata: 2\r\n\r\n")]);
    // The CR ends the event at once; its LF arrives with the next read and leads the next event.
    expect(events).toEqual(["data: 1\r\n\r", "\ndata: 2\r\n\r\n"]);
    expect(open).toBe("");
  });

  it("holds a multi-byte character cut between reads inside the open event", () => {
    const bytes = enc.encode('data: {"t":"é😀"}\n\n');
    const { events } = frameAll(split(bytes, [12, 13, 15]));
    expect(events).toEqual(['data: {"t":"é😀"}\n\n']);
  });

  it("forwards views of the chunks it was given, never copies", () => {
    const chunk = enc.encode("data: 1\n\ndata: 2\n\n");
    const events = new SseFramer().push(chunk);
    expect(events.map((e) => e[0]!.buffer)).toEqual([chunk.buffer, chunk.buffer]);
    expect(events.map((e) => e[0]!.byteOffset)).toEqual([0, 9]);
  });

  it("property: however the bytes are split, events and the open tail are the same", () => {
    const line = fc
      .array(fc.constantFrom("a", "z", ":", "{", "}", '"', " ", "é", "😀", "0"), { maxLength: 12 })
      .map((chars) => chars.join(""));
    const eol = fc.constantFrom("\n", "\r\n", "\r");
    const event = fc.tuple(
      fc.array(
        line.filter((l) => l.length > 0),
        { minLength: 1, maxLength: 3 },
      ),
      eol,
    );
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 6 }),
        line,
        fc.array(fc.nat(400), { maxLength: 8 }),
        (events, tail, cuts) => {
          const expected = events.map(([lines, e]) => lines.map((l) => `${l}${e}`).join("") + e);
          // The open tail must not end with a line end that a following byte could extend.
          const stream = expected.join("") + tail;
          const whole = frameAll([enc.encode(stream)]);
          const pieces = frameAll(split(enc.encode(stream), cuts));
          expect(whole.events).toEqual(expected);
          expect(whole.open).toBe(tail);
          // Split reads may move the LF of a CRLF to the next event; the bytes and count stay equal.
          expect(pieces.events.join("") + pieces.open).toBe(stream);
          expect(pieces.events.length).toBe(expected.length);
        },
      ),
    );
  });
});

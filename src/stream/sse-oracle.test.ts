/**
 * `eventsource-parser` (a spec-following SSE parser; dev dependency only) as an oracle for our
 * `SseParser`: random event streams with LF, CRLF or CR line ends, comments and the fields we ignore,
 * cut into random byte chunks (UTF-8 sequences and CR LF pairs split included), must yield the same
 * `data` payloads from both. Where we deliberately differ, a test below names the case and the reason.
 */
import { createParser } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SseParser } from "./sse-parser";

const encoder = new TextEncoder();

/** Data payloads as the spec-following parser reports them, reading the same byte chunks. */
function oracleData(chunks: readonly Uint8Array[]): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => data.push(event.data) });
  const decoder = new TextDecoder();
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  return data;
}

function ourData(chunks: readonly Uint8Array[]): string[] {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()].map((e) => e.data);
}

/** Field text: anything but the line terminators. */
const lineText = fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, " "));

const field = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ space: fc.boolean(), value: fc.oneof(lineText, fc.json()) })
      .map(({ space, value }) => `data:${space ? " " : ""}${value}`),
  },
  { weight: 1, arbitrary: lineText.map((v) => `event: ${v}`) },
  { weight: 1, arbitrary: fc.nat(99_999).map((n) => `id: ${n}`) },
  { weight: 1, arbitrary: fc.nat(99_999).map((n) => `retry: ${n}`) },
  { weight: 1, arbitrary: lineText.map((v) => `:${v}`) },
);
const event = fc.array(field, { minLength: 1, maxLength: 5 });
const stream = fc.record({
  events: fc.array(event, { minLength: 1, maxLength: 8 }),
  eol: fc.constantFrom("\n", "\r\n", "\r"),
  cuts: fc.array(fc.nat(), { maxLength: 20 }),
});

function slices(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  return out;
}

const bytesOf = (events: readonly string[][], eol: string): Uint8Array =>
  encoder.encode(events.map((lines) => lines.join(eol) + eol + eol).join(""));

describe("SSE parser against eventsource-parser", () => {
  it("yields the same data payloads for any stream, line-end style and chunking", () => {
    fc.assert(
      fc.property(stream, ({ events, eol, cuts }) => {
        const chunks = slices(bytesOf(events, eol), cuts);
        const expected = oracleData(chunks);
        expect(ourData(chunks)).toEqual(expected);
        // Not vacuous: every event with a data line is one payload.
        expect(expected).toHaveLength(
          events.filter((lines) => lines.some((l) => l.startsWith("data:"))).length,
        );
      }),
      { numRuns: 500 },
    );
  });

  it("splits a CRLF between two chunks the same way", () => {
    const chunks = [encoder.encode("data: a\r"), encoder.encode("\ndata: b\r"), encoder.encode("\n\r\n")];
    expect(ourData(chunks)).toEqual(oracleData(chunks));
    expect(ourData(chunks)).toEqual(["a\nb"]);
  });

  describe("deliberate differences (we accept more than the spec)", () => {
    it("a bare JSON object outside data: lines is an event for us (Google's mid-stream error body)", () => {
      const chunks = [encoder.encode('data: {"a":1}\n\n{\n  "error": {"code": 500}\n}\n')];
      expect(oracleData(chunks)).toEqual(['{"a":1}']); // the spec: an unknown field, ignored
      expect(ourData(chunks)).toEqual(['{"a":1}', '{\n  "error": {"code": 500}\n}']);
    });

    it("an unterminated last event is kept when its data is complete JSON (a stream cut at the end)", () => {
      const chunks = [encoder.encode('data: {"done":true}')];
      expect(oracleData(chunks)).toEqual([]); // the spec: no blank line, no event
      expect(ourData(chunks)).toEqual(['{"done":true}']);
    });

    it("a bare `data` line without a colon is ignored by us, an empty data line by the spec", () => {
      // No upstream we front writes it; treating it as a field named `data` costs a branch for nothing.
      const chunks = [encoder.encode("data\ndata: x\n\n")];
      expect(oracleData(chunks)).toEqual(["\nx"]);
      expect(ourData(chunks)).toEqual(["x"]);
    });
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SseEvent, SseParser } from "./sse-parser";

const enc = new TextEncoder();

function parseAll(chunks: (string | Uint8Array)[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(typeof c === "string" ? enc.encode(c) : c));
  out.push(...p.end());
  return out;
}

function splitBytes(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(bytes.slice(prev, p));
    prev = p;
  }
  parts.push(bytes.slice(prev));
  return parts;
}

describe("SseParser", () => {
  it.each([
    ["CRLF", "\r\n"],
    ["LF", "\n"],
    ["CR", "\r"],
  ])("splits events on blank lines written with %s", (_name, eol) => {
    const text = `data: {"a":1}${eol}${eol}data:{"b":2}${eol}${eol}`;
    expect(parseAll([text]).map((e) => e.data)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it("joins multi-line data with LF and ignores event/id/retry/comments", () => {
    const text = 'event: message\r\nid: 7\r\n: keepalive\r\nretry: 10\r\ndata: {"a":\r\ndata: 1}\r\n\r\n';
    expect(parseAll([text])).toEqual([{ data: '{"a":\n1}', raw: false }]);
  });

  it("reports a raw multi-line error object outside data lines", () => {
    const err =
      '{\n  "error": {\n    "code": 503,\n    "message": "over { capacity }",\n    "status": "UNAVAILABLE"\n  }\n}\n';
    const events = parseAll([`data: {"x":1}\n\n${err}`]);
    expect(events).toHaveLength(2);
    expect(events[1]?.raw).toBe(true);
    expect(JSON.parse(events[1]?.data ?? "")).toEqual({
      error: { code: 503, message: "over { capacity }", status: "UNAVAILABLE" },
    });
  });

  it("decodes a multi-byte character split across reads", () => {
    const bytes = enc.encode('data: {"t":"好😀"}\n\n');
    const idx = bytes.indexOf(0xe5) + 1; // inside 好
    const events = parseAll([bytes.slice(0, idx), bytes.slice(idx, idx + 6), bytes.slice(idx + 6)]);
    expect(JSON.parse(events[0]?.data ?? "")).toEqual({ t: "好😀" });
  });

  it("does not yield a half event when the stream is cut inside it", () => {
    expect(parseAll(['data: {"a":1}\n\ndata: {"b":'])).toEqual([{ data: '{"a":1}', raw: false }]);
  });

  it("yields a complete final event that lacks its blank line", () => {
    expect(parseAll(['data: {"a":1}\n\ndata: {"b":2}'])).toHaveLength(2);
  });

  it("treats CR at the end of one read and LF at the start of the next as one line end", () => {
    expect(parseAll(['data: {"a":1}\r', "\n\r", '\ndata: {"b":2}\r\n\r\n']).map((e) => e.data)).toEqual([
      '{"a":1}',
      '{"b":2}',
    ]);
  });

  it("yields the same events however the bytes are split (property)", () => {
    const payload = fc.record({ t: fc.string({ unit: "grapheme" }), n: fc.integer() });
    fc.assert(
      fc.property(
        fc.array(payload, { minLength: 1, maxLength: 6 }),
        fc.constantFrom("\r\n", "\n", "\r"),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (objs, eol, space, cuts) => {
          const text = objs.map((o) => `data:${space ? " " : ""}${JSON.stringify(o)}${eol}${eol}`).join("");
          const events = parseAll(splitBytes(enc.encode(text), cuts));
          expect(events.map((e) => JSON.parse(e.data))).toEqual(objs);
        },
      ),
    );
  });
});

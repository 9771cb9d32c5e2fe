import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UpstreamError, UpstreamProtocolError, UpstreamResetError } from "./errors";
import { Http1ResponseParser, type ParserOptions, type ResponseHead } from "./http1-parser";

const enc = new TextEncoder();
const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

interface Parsed {
  head: ResponseHead;
  body: Uint8Array;
  trailers: [string, string][] | null;
  ended: boolean;
}

/** Feeds `parts` in order, then end of stream (unless `eof` is false), and collects the result. */
function parse(parts: Uint8Array[], options: ParserOptions = { method: "GET" }, eof = true): Parsed {
  const parser = new Http1ResponseParser(options);
  let head: ResponseHead | null = null;
  const body: number[] = [];
  let trailers: [string, string][] | null = null;
  let ended = false;
  const take = (events: ReturnType<Http1ResponseParser["push"]>) => {
    for (const e of events) {
      if (e.type === "head") head = e.head;
      else if (e.type === "body") body.push(...e.data);
      else if (e.type === "trailers") trailers = e.headers;
      else ended = true;
    }
  };
  for (const part of parts) take(parser.push(part));
  if (eof) take(parser.finish());
  if (!head) throw new Error("no head");
  return { head, body: Uint8Array.from(body), trailers, ended };
}

const one = (s: string, options?: ParserOptions, eof = true) => parse([latin1Bytes(s)], options, eof);
const bodyText = (p: Parsed) => new TextDecoder().decode(p.body);
const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
};

describe("status line", () => {
  it("accepts a status line with a reason phrase", () => {
    const p = one("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    expect(p.head).toMatchObject({ status: 404, reason: "Not Found", version: "HTTP/1.1" });
  });

  it("accepts a status line without a reason phrase, with or without the trailing space", () => {
    expect(one("HTTP/1.1 200\r\ncontent-length: 0\r\n\r\n").head).toMatchObject({ status: 200, reason: "" });
    expect(one("HTTP/1.0 201 \r\ncontent-length: 0\r\n\r\n").head).toMatchObject({
      status: 201,
      reason: "",
      version: "HTTP/1.0",
    });
  });

  it.each([
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1  200 OK\r\n\r\n",
    "http/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 099 Low\r\n\r\n",
    "HTTP/1.1 600 High\r\n\r\n",
    "garbage\r\n\r\n",
  ])("rejects %j", (input) => {
    expect(errorOf(() => one(input))).toBeInstanceOf(UpstreamProtocolError);
  });
});

describe("header fields", () => {
  it("parses names and values on bytes without assuming ': '", () => {
    const p = one(
      "HTTP/1.1 200 OK\r\nX-A:tight\r\nX-B: \t spaced \t\r\nX-Empty:\r\nX-C: a:b: c\r\ncontent-length: 0\r\n\r\n",
    );
    expect(p.head.headers).toEqual([
      ["X-A", "tight"],
      ["X-B", "spaced"],
      ["X-Empty", ""],
      ["X-C", "a:b: c"],
      ["content-length", "0"],
    ]);
  });

  it("decodes non-ASCII values as UTF-8 and keeps repeated fields in order", () => {
    const head = enc.encode(
      "HTTP/1.1 200 OK\r\nx-name: é€\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 0\r\n\r\n",
    );
    expect(parse([head]).head.headers).toEqual([
      ["x-name", "é€"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["content-length", "0"],
    ]);
  });

  it("accepts bare LF line endings", () => {
    const p = one("HTTP/1.1 200 OK\nx: 1\ncontent-length: 2\n\nhi");
    expect(p.head.headers).toEqual([
      ["x", "1"],
      ["content-length", "2"],
    ]);
    expect(bodyText(p)).toBe("hi");
  });

  it.each([
    ["obs-fold", "HTTP/1.1 200 OK\r\nx: a\r\n  folded\r\n\r\n"],
    ["space before colon", "HTTP/1.1 200 OK\r\nx : a\r\n\r\n"],
    ["no colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
    ["empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n"],
    ["bare CR", "HTTP/1.1 200 OK\r\nx: a\rb\r\n\r\n"],
    ["NUL", "HTTP/1.1 200 OK\r\nx: a\0b\r\n\r\n"],
    ["a control character in a value", "HTTP/1.1 200 OK\r\nx: a\x01b\r\n\r\n"],
    ["DEL in a value", "HTTP/1.1 200 OK\r\nx: a\x7fb\r\n\r\n"],
    ["a control character in the reason phrase", "HTTP/1.1 200 O\x1bK\r\n\r\n"],
    ["conflicting Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab"],
    ["non-numeric Content-Length", "HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nabcde"],
    [
      "chunked not final",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip, chunked2\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
    ],
  ])("rejects %s", (_, input) => {
    expect(errorOf(() => one(input))).toBeInstanceOf(UpstreamProtocolError);
  });

  it("accepts HTAB inside a value and obs-text bytes", () => {
    expect(
      one("HTTP/1.1 200 OK\r\nx: a\tb\r\ny: caf\xe9\r\ncontent-length: 0\r\n\r\n").head.headers[0],
    ).toEqual(["x", "a\tb"]);
  });

  it("accepts identical repeated Content-Length values", () => {
    expect(bodyText(one("HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\nok"))).toBe(
      "ok",
    );
  });

  it("limits the head size", () => {
    const big = `HTTP/1.1 200 OK\r\nx: ${"a".repeat(200)}\r\n\r\n`;
    const err = errorOf(() => one(big, { method: "GET", maxHeadBytes: 100 }));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    // Even when the head never ends: no unbounded buffering.
    const parser = new Http1ResponseParser({ method: "GET", maxHeadBytes: 1000 });
    parser.push(latin1Bytes("HTTP/1.1 200 OK\r\nx: "));
    expect(errorOf(() => parser.push(new Uint8Array(2000).fill(0x61)))).toBeInstanceOf(UpstreamProtocolError);
  });
});

describe("body framing", () => {
  it("reads exactly Content-Length bytes and ignores anything after", () => {
    const p = one("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA", { method: "GET" }, false);
    expect(bodyText(p)).toBe("hello");
    expect(p.ended).toBe(true);
  });

  it("decodes chunked bodies with extensions and trailers", () => {
    const p = one(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
        '5;name=value;quoted="a;b"\r\nhello\r\n6 ; ext\r\n world\r\n000\r\nx-checksum: abc\r\nx-other:1\r\n\r\n',
    );
    expect(bodyText(p)).toBe("hello world");
    expect(p.trailers).toEqual([
      ["x-checksum", "abc"],
      ["x-other", "1"],
    ]);
    expect(p.ended).toBe(true);
  });

  it("reads a close-delimited body (no length, no transfer coding) until end of stream", () => {
    const p = one("HTTP/1.1 200 OK\r\n\r\nall of this\r\n\r\nuntil close");
    expect(bodyText(p)).toBe("all of this\r\n\r\nuntil close");
  });

  it("accepts chunked in any case and with list whitespace, as the only transfer coding", () => {
    for (const te of ["Chunked", " chunked ", "chunked,", ", CHUNKED"]) {
      expect(bodyText(one(`HTTP/1.1 200 OK\r\ntransfer-encoding: ${te}\r\n\r\n2\r\nok\r\n0\r\n\r\n`))).toBe(
        "ok",
      );
    }
  });

  // Ambiguous framing that llhttp and h11 both reject (issue 11, item 11). Forwarding such a body
  // would mean guessing where it ends, or passing it on still encoded under a stripped header.
  it.each([
    [
      "Content-Length with Transfer-Encoding: identity",
      "content-length: 3\r\ntransfer-encoding: identity\r\n\r\nabc",
    ],
    [
      "Content-Length with Transfer-Encoding: chunked",
      "content-length: 100\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    [
      "Transfer-Encoding: chunked before Content-Length",
      "transfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    ["an empty Content-Length", "content-length:\r\n\r\nabc"],
    ["a blank Content-Length", "content-length:   \r\n\r\nabc"],
    ["an empty Content-Length list element", "content-length: 3,\r\n\r\nabc"],
    ["an empty Content-Length line beside a valid one", "content-length: 3\r\ncontent-length:\r\n\r\nabc"],
    ["an empty Transfer-Encoding line", "transfer-encoding:\r\n\r\nabc"],
    [
      "an empty Transfer-Encoding line beside chunked",
      "transfer-encoding:\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["Transfer-Encoding: gzip (read until close before)", "transfer-encoding: gzip\r\n\r\nraw"],
    ["Transfer-Encoding: identity", "transfer-encoding: identity\r\n\r\nraw"],
    ["Transfer-Encoding: gzip, chunked", "transfer-encoding: gzip, chunked\r\n\r\n3\r\nraw\r\n0\r\n\r\n"],
    [
      "Transfer-Encoding: chunked twice",
      "transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["a chunked coding with parameters", "transfer-encoding: chunked;q=1\r\n\r\n0\r\n\r\n"],
  ])("rejects %s as an upstream protocol error (502)", (_, rest) => {
    for (const version of ["1.1", "1.0"]) {
      const err = errorOf(() => one(`HTTP/${version} 200 OK\r\n${rest}`));
      expect(err).toBeInstanceOf(UpstreamProtocolError);
      expect((err as UpstreamProtocolError).status).toBe(502);
      expect((err as UpstreamProtocolError).reason).toBe("upstream_protocol_error");
      expect((err as UpstreamProtocolError).phase).toBe("after_response");
    }
  });

  it("ends a HEAD response and 204/304 responses at the head, whatever the headers say", () => {
    for (const [status, method] of [
      [200, "HEAD"],
      [204, "GET"],
      [304, "GET"],
    ] as const) {
      const p = one(
        `HTTP/1.1 ${status} X\r\ncontent-length: 50\r\ntransfer-encoding: chunked\r\n\r\n`,
        { method },
        false,
      );
      expect(p.ended).toBe(true);
      expect(p.body.length).toBe(0);
    }
  });

  it("skips 100 and 103 interim responses", () => {
    const p = one(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n" +
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    );
    expect(p.head.status).toBe(200);
    expect(p.head.headers).toEqual([["content-length", "2"]]);
    expect(bodyText(p)).toBe("ok");
  });

  it("refuses 101 and endless interim responses", () => {
    expect(errorOf(() => one("HTTP/1.1 101 Switching\r\n\r\n"))).toBeInstanceOf(UpstreamProtocolError);
    const many = "HTTP/1.1 103 Early Hints\r\n\r\n".repeat(20);
    expect(errorOf(() => one(many))).toBeInstanceOf(UpstreamProtocolError);
  });

  it.each([
    ["bad chunk size", "zz\r\n"],
    ["chunk size overflow", "fffffffffffffffff\r\n"],
    ["chunk longer than declared", "2\r\nabc\r\n"],
    ["empty chunk size", "\r\n"],
  ])("rejects a %s", (_, bodyBytes) => {
    const input = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${bodyBytes}`;
    expect(errorOf(() => one(input))).toBeInstanceOf(UpstreamProtocolError);
  });
});

describe("end of stream", () => {
  it("is a reset before any byte (after_write) and a typed error when truncated", () => {
    const none = errorOf(() => new Http1ResponseParser({ method: "GET" }).finish());
    expect(none).toBeInstanceOf(UpstreamResetError);
    expect((none as UpstreamResetError).phase).toBe("after_write");
    const inHead = errorOf(() => one("HTTP/1.1 200 OK\r\nx: 1"));
    expect(inHead).toBeInstanceOf(UpstreamProtocolError);
    expect((inHead as UpstreamProtocolError).phase).toBe("after_response");
    for (const truncated of [
      "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n",
    ]) {
      const err = errorOf(() => one(truncated));
      expect(err).toBeInstanceOf(UpstreamResetError);
      expect((err as UpstreamResetError).phase).toBe("after_response");
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

const tokenArb = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
/** Field values: visible ASCII and spaces inside, no leading/trailing whitespace. */
const valueArb = fc
  .stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/)
  .map((v) => v)
  .chain((v) => fc.constantFrom(v, ""));
const framingNames = new Set(["content-length", "transfer-encoding"]);
const fieldsArb = fc.array(
  fc.tuple(tokenArb, valueArb).filter(([n]) => !framingNames.has(n.toLowerCase())),
  { maxLength: 8 },
);

type Framing = "length" | "chunked" | "close" | "none";
interface Generated {
  bytes: Uint8Array;
  method: string;
  status: number;
  reason: string;
  fields: [string, string][];
  body: Uint8Array;
  trailers: [string, string][];
  framing: Framing;
}

const generatedArb: fc.Arbitrary<Generated> = fc
  .record({
    framing: fc.constantFrom<Framing>("length", "chunked", "close", "none"),
    status: fc.integer({ min: 200, max: 599 }),
    reason: fc.option(fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,15}$/), { nil: "" }),
    fields: fieldsArb,
    body: fc.uint8Array({ maxLength: 300 }),
    cuts: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
    extensions: fc.array(fc.constantFrom("", ";a", ";a=b", ' ;q="x;y"', ";n=1;m"), {
      minLength: 9,
      maxLength: 9,
    }),
    trailers: fieldsArb,
    interim: fc.constantFrom(
      "",
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 103 Early Hints\r\nlink: </s>\r\n\r\n",
    ),
    noneKind: fc.constantFrom("HEAD", "204", "304"),
  })
  .map((g) => {
    let status = g.status;
    let method = "GET";
    let body = g.body;
    if (g.framing === "none") {
      body = new Uint8Array(0);
      if (g.noneKind === "HEAD") method = "HEAD";
      else status = Number(g.noneKind);
    } else if (status === 204 || status === 304) {
      status = 200;
    }
    const fields: [string, string][] = [...g.fields];
    if (g.framing === "length") fields.push(["Content-Length", String(body.length)]);
    if (g.framing === "chunked") fields.push(["Transfer-Encoding", "chunked"]);
    if (g.framing === "none" && method === "HEAD") fields.push(["Content-Length", "1234"]);
    const statusLine = g.reason === "" ? `HTTP/1.1 ${status}` : `HTTP/1.1 ${status} ${g.reason}`;
    const head = `${g.interim}${statusLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
    const parts: Uint8Array[] = [latin1Bytes(head)];
    if (g.framing === "chunked") {
      let at = 0;
      let i = 0;
      for (const cut of [...g.cuts, body.length]) {
        const piece = body.subarray(at, Math.min(body.length, at + cut));
        if (piece.length === 0) continue;
        parts.push(
          latin1Bytes(`${piece.length.toString(16)}${g.extensions[i++ % 9]}\r\n`),
          piece,
          latin1Bytes("\r\n"),
        );
        at += piece.length;
      }
      if (at < body.length) {
        const rest = body.subarray(at);
        parts.push(latin1Bytes(`${rest.length.toString(16)}\r\n`), rest, latin1Bytes("\r\n"));
      }
      parts.push(latin1Bytes(`0\r\n${g.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`));
    } else if (g.framing !== "none") {
      parts.push(body);
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      bytes.set(p, off);
      off += p.length;
    }
    return {
      bytes,
      method,
      status,
      reason: g.reason,
      fields,
      body,
      trailers: g.framing === "chunked" ? g.trailers : [],
      framing: g.framing,
    };
  });

/** Splits bytes at the given (sorted, deduplicated) positions. */
function splitAt(bytes: Uint8Array, positions: number[]): Uint8Array[] {
  const cuts = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.slice(prev, c));
    prev = c;
  }
  return out;
}

describe("properties", () => {
  it("parses any valid response identically however it is split", () => {
    fc.assert(
      fc.property(generatedArb, fc.array(fc.nat(), { maxLength: 12 }), (g, positions) => {
        const p = parse(splitAt(g.bytes, positions), { method: g.method });
        expect(p.head.status).toBe(g.status);
        expect(p.head.reason).toBe(g.reason);
        expect(p.head.headers).toEqual(g.fields);
        expect(Array.from(p.body)).toEqual(Array.from(g.body));
        expect(p.trailers ?? []).toEqual(g.trailers);
        expect(p.ended).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("feeding byte by byte equals feeding at once", () => {
    fc.assert(
      fc.property(generatedArb, (g) => {
        const whole = parse([g.bytes], { method: g.method });
        const bytewise = parse(
          Array.from(g.bytes, (b) => Uint8Array.of(b)),
          { method: g.method },
        );
        expect(bytewise).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it("random bytes either parse or fail with a typed UpstreamError, and always terminate", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, positions) => {
          const err = errorOf(() => parse(splitAt(bytes, positions)));
          if (err !== null && !(err instanceof Error && err.message === "no head")) {
            expect(err).toBeInstanceOf(UpstreamError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("mutated valid responses either parse or fail with a typed UpstreamError", () => {
    fc.assert(
      fc.property(
        generatedArb,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 10, 13, 32, 58, 59, 0x30, 0x7f, 0xff)), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (g, mutations, positions) => {
          const bytes = g.bytes.slice();
          for (const [at, value] of mutations) if (bytes.length) bytes[at % bytes.length] = value;
          const err = errorOf(() => parse(splitAt(bytes, positions), { method: g.method }));
          if (err !== null && !(err instanceof Error && err.message === "no head")) {
            expect(err).toBeInstanceOf(UpstreamError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("specific malformations always give UpstreamProtocolError", () => {
    const malformed = fc.constantFrom(
      "HTTP/1.1 200 OK\r\nx: a\r\n folded\r\n\r\n",
      "HTTP/1.1 2OO OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nbad name: v\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nxyz\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n",
    );
    fc.assert(
      fc.property(malformed, fc.array(fc.nat(), { maxLength: 6 }), (input, positions) => {
        const err = errorOf(() => parse(splitAt(latin1Bytes(input), positions)));
        expect(err).toBeInstanceOf(UpstreamProtocolError);
      }),
      { numRuns: 200 },
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadRequestError } from "./errors";
import {
  chooseFraming,
  encodeChunk,
  LAST_CHUNK,
  parseContentLength,
  requestTargetFor,
  serializeRequestHead,
} from "./http1-writer";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const base = { method: "POST", target: "/v1/x?y=1", host: "api.example.com:8443" };

describe("serializeRequestHead", () => {
  it("writes the request line, Host first, headers in order, framing and Connection: close", () => {
    const head = serializeRequestHead(
      {
        ...base,
        headers: [
          ["authorization", "Bearer k"],
          ["X-Custom", "  padded\t"],
        ],
      },
      { kind: "length", length: 12 },
    );
    expect(text(head)).toBe(
      "POST /v1/x?y=1 HTTP/1.1\r\nHost: api.example.com:8443\r\nauthorization: Bearer k\r\n" +
        "X-Custom: padded\r\nContent-Length: 12\r\nConnection: close\r\n\r\n",
    );
  });

  it("uses chunked framing and omits Content-Length when asked, none for bodiless requests", () => {
    expect(text(serializeRequestHead({ ...base, headers: [] }, { kind: "chunked" }))).toContain(
      "Transfer-Encoding: chunked\r\n",
    );
    const none = text(serializeRequestHead({ ...base, method: "GET", headers: [] }, { kind: "none" }));
    expect(none).not.toMatch(/content-length|transfer-encoding/i);
  });

  it("ignores caller-supplied framing, host and connection fields (the writer owns them)", () => {
    const head = text(
      serializeRequestHead(
        {
          ...base,
          headers: [
            ["Content-Length", "999"],
            ["transfer-encoding", "gzip"],
            ["host", "evil"],
            ["connection", "keep-alive"],
          ],
        },
        { kind: "length", length: 1 },
      ),
    );
    expect(head.match(/content-length/gi)).toHaveLength(1);
    expect(head).not.toMatch(/evil|gzip|keep-alive/);
  });

  it("encodes non-ASCII header values as UTF-8, like workerd's fetch", () => {
    const head = serializeRequestHead({ ...base, headers: [["x-name", "é€"]] }, { kind: "none" });
    const needle = new TextEncoder().encode("x-name: é€\r\n");
    expect(Buffer.from(head).includes(Buffer.from(needle))).toBe(true);
  });

  it.each([
    ["method with space", { method: "GE T" }],
    ["method with CR", { method: "GET\r" }],
    ["empty method", { method: "" }],
    ["target with LF", { target: "/a\nb" }],
    ["target with NUL", { target: "/a\0" }],
    ["target with space", { target: "/a b" }],
    ["host with CR", { host: "a\r" }],
  ])("refuses a %s with a 400", (_, patch) => {
    expect(() => serializeRequestHead({ ...base, headers: [], ...patch }, { kind: "none" })).toThrow(
      BadRequestError,
    );
  });

  it.each([
    ["name with CR", ["x\r", "v"]],
    ["name with colon", ["x:y", "v"]],
    ["empty name", ["", "v"]],
    ["value with CR", ["x", "a\rb"]],
    ["value with LF", ["x", "a\nInjected: 1"]],
    ["value with NUL", ["x", "a\0"]],
    ["value with SOH", ["x", "a\x01b"]],
    ["value with BS", ["x", "a\bb"]],
    ["value with VT", ["x", "a\vb"]],
    ["value with FF", ["x", "a\fb"]],
    ["value with ESC", ["x", "a\x1b[31m"]],
    ["value with US", ["x", "a\x1f"]],
    ["value with DEL", ["x", "a\x7f"]],
    ["name with DEL", ["x\x7f", "v"]],
    ["name with HTAB", ["x\ty", "v"]],
  ] as [string, [string, string]][])("refuses a header %s with a 400", (_, header) => {
    const err = (() => {
      try {
        serializeRequestHead({ ...base, headers: [header] }, { kind: "none" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).status).toBe(400);
  });
});

describe("framing helpers", () => {
  it("chooses Content-Length for known lengths, chunked otherwise, and 0 for empty POSTs", () => {
    expect(chooseFraming("POST", 5, true)).toEqual({ kind: "length", length: 5 });
    expect(chooseFraming("POST", null, true)).toEqual({ kind: "chunked" });
    expect(chooseFraming("post", null, false)).toEqual({ kind: "length", length: 0 });
    expect(chooseFraming("GET", null, false)).toEqual({ kind: "none" });
  });

  it("parses Content-Length strictly", () => {
    expect(parseContentLength(null)).toBeNull();
    expect(parseContentLength("42")).toBe(42);
    expect(parseContentLength("7, 7")).toBe(7);
    expect(() => parseContentLength("7, 8")).toThrow(BadRequestError);
    expect(() => parseContentLength("-1")).toThrow(BadRequestError);
    expect(() => parseContentLength("0x10")).toThrow(BadRequestError);
  });

  it("encodes chunks and the last chunk", () => {
    expect(text(encodeChunk(new TextEncoder().encode("hello world, 26 bytes long")))).toBe(
      "1a\r\nhello world, 26 bytes long\r\n",
    );
    expect(text(LAST_CHUNK)).toBe("0\r\n\r\n");
  });

  it("derives the origin-form target byte-exact from a URL string", () => {
    expect(requestTargetFor("https://h/a//b/?q=%2F&x")).toBe("/a//b/?q=%2F&x");
    expect(requestTargetFor("https://h:8443/a/./b/../c?x#frag")).toBe("/a/./b/../c?x");
    expect(requestTargetFor("https://h")).toBe("/");
    expect(requestTargetFor("https://h?q=1")).toBe("/?q=1");
    expect(requestTargetFor("https://user@h/p")).toBe("/p");
    // Not plain ASCII: the parsed URL's percent-encoded form.
    expect(requestTargetFor("https://h/é x")).toBe("/%C3%A9%20x");
  });
});

describe("writer properties", () => {
  const nameArb = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/);
  it("keeps a horizontal tab inside a value (the one control character a field value may hold)", () => {
    const head = text(serializeRequestHead({ ...base, headers: [["x-tab", "a\tb"]] }, { kind: "none" }));
    expect(head).toContain("x-tab: a\tb\r\n");
  });

  it("a value holding a control character other than HTAB is always refused; any other value round-trips", () => {
    fc.assert(
      fc.property(
        nameArb,
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 40 }),
          fc.string({
            unit: fc.constantFrom("a", " ", "\t", "\r", "\n", "\0", "\x01", "\x1b", "\x7f", "é", ":"),
            maxLength: 12,
          }),
        ),
        (name, value) => {
          const serialise = () =>
            serializeRequestHead({ ...base, headers: [[name, value]] }, { kind: "none" });
          if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) {
            expect(serialise).toThrow(BadRequestError);
            return;
          }
          const lines = text(serialise()).split("\r\n");
          // The head has exactly: request line, Host, [the field], Connection, and the empty end.
          const owned = ["host", "content-length", "transfer-encoding", "connection"].includes(
            name.toLowerCase(),
          );
          expect(lines).toHaveLength(owned ? 5 : 6);
          if (!owned) expect(lines[2]).toBe(`${name}: ${value.replace(/^[ \t]+|[ \t]+$/g, "")}`);
        },
      ),
      { numRuns: 500 },
    );
  });
});

import { describe, expect, it } from "vitest";
import { BadRequestError, UpstreamProtocolError } from "./errors";
import {
  buildUpgradeRequest,
  computeAcceptKey,
  generateWebSocketKey,
  parseProtocolList,
  parseUpgradeResponse,
  UpgradeResponseReader,
  UpstreamHandshakeError,
  validateUpgradeResponse,
} from "./ws-handshake";

const enc = new TextEncoder();
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function head(text: string, extra: Uint8Array = new Uint8Array(0)) {
  const bytes = new Uint8Array([...enc.encode(text), ...extra]);
  const parsed = parseUpgradeResponse(bytes);
  if (!parsed) throw new Error("incomplete head");
  return parsed;
}

describe("keys", () => {
  it("computes the RFC 6455 §1.3 accept value", async () => {
    expect(await computeAcceptKey(RFC_KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("generates the key from the injected random source", () => {
    const key = generateWebSocketKey((n) => new Uint8Array(n).map((_, i) => i));
    expect(key).toBe("AAECAwQFBgcICQoLDA0ODw==");
    expect(() => generateWebSocketKey(() => new Uint8Array(3))).toThrow(RangeError);
  });
});

describe("buildUpgradeRequest", () => {
  const url = new URL("wss://api.example.com:8443/v1/live?key=abc&x=%2F");

  it("writes the request line, Host, its own handshake headers, and strips offers and client keys", () => {
    const headers = new Headers({
      host: "api.example.com:8443",
      authorization: "Bearer t",
      "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
      "sec-websocket-key": "client-key",
      "sec-websocket-version": "13",
      "user-agent": "ua",
    });
    const text = new TextDecoder().decode(
      buildUpgradeRequest({ url, headers, key: RFC_KEY, protocols: ["a", "b"] }),
    );
    expect(text.startsWith("GET /v1/live?key=abc&x=%2F HTTP/1.1\r\nHost: api.example.com:8443\r\n")).toBe(
      true,
    );
    expect(text.endsWith("\r\n\r\n")).toBe(true);
    expect(text).toContain("authorization: Bearer t\r\n");
    expect(text).toContain("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    expect(text).toContain(`Sec-WebSocket-Key: ${RFC_KEY}\r\n`);
    expect(text).toContain("Sec-WebSocket-Protocol: a, b\r\n");
    expect(text.toLowerCase()).not.toContain("extensions");
    expect(text).not.toContain("client-key");
    expect(text.match(/sec-websocket-version/gi)).toHaveLength(1);
  });

  it("omits Sec-WebSocket-Protocol when none is offered and refuses CR/LF injection", () => {
    const headers = new Headers({ host: "h" });
    const text = new TextDecoder().decode(
      buildUpgradeRequest({ url: new URL("ws://h/"), headers, key: RFC_KEY, protocols: [] }),
    );
    expect(text).not.toContain("Protocol");
    expect(() =>
      buildUpgradeRequest({ url: new URL("ws://h/"), headers, key: RFC_KEY, protocols: ["a\r\nX: y"] }),
    ).toThrow(BadRequestError);
  });
});

describe("parseUpgradeResponse", () => {
  it("returns null until the head is complete and keeps bytes that came with the 101", () => {
    expect(
      parseUpgradeResponse(enc.encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")),
    ).toBeNull();
    const parsed = head(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
      new Uint8Array([0x81, 0x01, 0x41]),
    );
    expect(parsed.status).toBe(101);
    expect([...parsed.rest]).toEqual([0x81, 0x01, 0x41]);
  });

  it("accepts a status line without a reason phrase and rejects garbage", () => {
    expect(head("HTTP/1.1 101\r\n\r\n").statusText).toBe("");
    expect(() => parseUpgradeResponse(enc.encode("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(UpstreamProtocolError);
    expect(() => parseUpgradeResponse(new Uint8Array(20_000).fill(0x41))).toThrow(UpstreamProtocolError);
  });
});

/**
 * The 101 is read by the same head parser as every other response (issue 11, item 11): each case
 * below is one where the handshake's former parser of its own disagreed with `http1-parser.ts`.
 */
describe("parseUpgradeResponse: the one head parser's rules", () => {
  const ACCEPT = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  const refuse = (text: string) => {
    let err: unknown = null;
    try {
      parseUpgradeResponse(latin1(text));
    } catch (e) {
      err = e;
    }
    expect(err, JSON.stringify(text)).toBeInstanceOf(UpstreamProtocolError);
    expect((err as UpstreamProtocolError).status).toBe(502);
  };

  it("refuses whitespace between a field name and its colon", () => {
    refuse("HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n");
    refuse("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept\t: x\r\n\r\n");
  });

  it("refuses folded (obs-fold) lines", () => {
    refuse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n Connection: Upgrade\r\n\r\n");
    refuse("HTTP/1.1 101 Switching Protocols\r\nX-A: a\r\n\tb: c\r\n\r\n");
  });

  it("refuses a lone CR, and reads a lone LF as a line end", () => {
    refuse("HTTP/1.1 101 Switching Protocols\r\nX-A: a\rUpgrade: websocket\r\n\r\n");
    const parsed = head(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\nConnection: Upgrade\r\n${ACCEPT}\r\n\r\n`,
    );
    expect(parsed.headers.get("upgrade")).toBe("websocket");
    expect(parsed.headers.get("connection")).toBe("Upgrade");
  });

  it("refuses control characters in values and in the reason phrase", () => {
    refuse("HTTP/1.1 101 Switching Protocols\r\nX-A: a\x01b\r\n\r\n");
    refuse("HTTP/1.1 101 Switching Protocols\r\nX-A: a\x7f\r\n\r\n");
    refuse("HTTP/1.1 101 Switching\x1bProtocols\r\n\r\n");
    refuse("HTTP/1.1 101 Switching Protocols\r\nX-A: a\0b\r\n\r\n");
  });

  it("completes a head whose lines end in bare LF (it used to wait for CRLFCRLF forever)", () => {
    const parsed = parseUpgradeResponse(
      new Uint8Array([...latin1("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n"), 0x81, 0x00]),
    );
    expect(parsed?.status).toBe(101);
    expect(parsed?.headers.get("upgrade")).toBe("websocket");
    expect([...(parsed?.rest ?? [])]).toEqual([0x81, 0x00]);
  });

  it("skips interim responses before the 101, as for any response", () => {
    const parsed = head(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    );
    expect(parsed.status).toBe(101);
  });

  it("reads the head incrementally, however it is split, and keeps what follows it", () => {
    const headText = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n${ACCEPT}\r\n\r\n`;
    const wire = latin1(`${headText}\x81\x01A`);
    for (let step = 1; step <= 7; step++) {
      const reader = new UpgradeResponseReader();
      let parsed: ReturnType<UpgradeResponseReader["push"]> = null;
      let at = 0;
      for (; at < wire.length && parsed === null; at += step) parsed = reader.push(wire.slice(at, at + step));
      expect(parsed?.headers.get("sec-websocket-accept")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      // The rest of the read that completed the head; later reads go to the frame decoder directly.
      expect(parsed?.rest).toEqual(wire.slice(headText.length, Math.min(at, wire.length)));
    }
  });
});

describe("validateUpgradeResponse", () => {
  const ok = (extra = "") =>
    head(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n${extra}\r\n`,
    );

  it("accepts a correct 101 and returns the negotiated subprotocol", async () => {
    expect(await validateUpgradeResponse(ok(), { key: RFC_KEY, protocols: [] })).toEqual({ protocol: null });
    expect(
      await validateUpgradeResponse(ok("Sec-WebSocket-Protocol: b\r\n"), {
        key: RFC_KEY,
        protocols: ["a", "b"],
      }),
    ).toEqual({
      protocol: "b",
    });
  });

  it("turns a non-101 into a 502 carrying the upstream status", async () => {
    const err = await validateUpgradeResponse(head("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), {
      key: RFC_KEY,
      protocols: [],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamHandshakeError);
    expect((err as UpstreamHandshakeError).status).toBe(502);
    expect((err as UpstreamHandshakeError).upstreamStatus).toBe(403);
    expect((err as Error).message).toContain("403");
  });

  it("rejects a wrong accept, an unoffered subprotocol or extension", async () => {
    const bad = [
      head(
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
      ),
      ok("Sec-WebSocket-Protocol: c\r\n"),
      ok("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
      head(
        "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
      ),
    ];
    for (const h of bad) {
      await expect(validateUpgradeResponse(h, { key: RFC_KEY, protocols: ["a"] })).rejects.toBeInstanceOf(
        UpstreamHandshakeError,
      );
    }
  });
});

describe("parseProtocolList", () => {
  it("splits and trims", () => {
    expect(parseProtocolList(" a ,b,, c")).toEqual(["a", "b", "c"]);
    expect(parseProtocolList(null)).toEqual([]);
  });
});

describe("buildUpgradeRequest: control characters (issue 11.6)", () => {
  const url = new URL("ws://h.example/live");
  it.each(["a\x01b", "a\x1b[31m", "a\x7f", "a\vb"])("refuses a header value holding %j", (value) => {
    const headers = new Headers({ host: "h.example" });
    headers.set("x-bad", value);
    expect(() => buildUpgradeRequest({ url, headers, key: RFC_KEY, protocols: [] })).toThrow(BadRequestError);
  });

  it("keeps a horizontal tab inside a value", () => {
    const headers = new Headers({ host: "h.example", "x-tab": "a\tb" });
    const text = new TextDecoder().decode(buildUpgradeRequest({ url, headers, key: RFC_KEY, protocols: [] }));
    expect(text).toContain("x-tab: a\tb\r\n");
  });
});

describe("buildUpgradeRequest: request target (issue 11.12)", () => {
  const headers = new Headers({ host: "h.example" });
  const requestLine = (href: string) =>
    new TextDecoder()
      .decode(buildUpgradeRequest({ url: new URL(href), headers, key: RFC_KEY, protocols: [] }))
      .split("\r\n")[0];

  it("keeps an empty query's ?", () => {
    expect(requestLine("ws://h.example/live?")).toBe("GET /live? HTTP/1.1");
    expect(requestLine("ws://h.example/?")).toBe("GET /? HTTP/1.1");
  });

  it("adds none where there was none, and never sends a fragment", () => {
    expect(requestLine("ws://h.example/live")).toBe("GET /live HTTP/1.1");
    expect(requestLine("ws://h.example")).toBe("GET / HTTP/1.1");
    expect(requestLine("ws://h.example/live?a=1#frag")).toBe("GET /live?a=1 HTTP/1.1");
  });
});

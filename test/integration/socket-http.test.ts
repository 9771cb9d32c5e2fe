import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import {
  BadRequestError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from "../../src/transport/errors";
import { SMALL_BODY_BYTES } from "../../src/transport/small-body";
import { sendViaSocket } from "../../src/transport/socket-http";
import { DEFAULT_EGRESS_TIMEOUTS, type EgressTimeouts } from "../../src/transport/timeouts";
import { RawTcpControl, type RawTcpStep, type ReceivedRequest } from "../mocks/rawtcp-protocol";

const mock = new RawTcpControl(inject("mockPorts"));
const fast: EgressTimeouts = { connectTimeoutMs: 2_000, firstByteTimeoutMs: 2_000, idleTimeoutMs: 2_000 };

async function scripted(steps: RawTcpStep[], method = "GET", when?: "head" | "body") {
  const id = await mock.script(steps, when);
  const result = await egress(
    { method, url: mock.url(id, "/path"), headers: new Headers(), body: null },
    { transport: "socket", aggressiveFallback: false, timeouts: fast },
  );
  return { id, ...result };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("socket egress: response framing", () => {
  it("accepts a status line without a reason phrase", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 200\r\ncontent-length: 2\r\n\r\nok" },
      { hang: true },
    ]);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    expect(await response.text()).toBe("ok");
  });

  it("reads a Content-Length body and does not wait for the connection to close", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nx-custom: v\r\n\r\nhello" },
      { hang: true },
    ]);
    expect(response.status).toBe(201);
    expect(response.statusText).toBe("Created");
    expect(response.headers.get("x-custom")).toBe("v");
    expect(await response.text()).toBe("hello");
  });

  it("decodes chunked bodies with extensions and trailers, split across writes", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel" },
      { delayMs: 20 },
      { text: 'lo\r\n6;q="a;b"\r\n world\r\n0\r\nx-trailer: t\r\n\r\n' },
      { hang: true },
    ]);
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(await response.text()).toBe("hello world");
  });

  it("reads a close-delimited body to the end", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nfirst part " },
      { delayMs: 20 },
      { text: "second part" },
      { end: true },
    ]);
    expect(await response.text()).toBe("first part second part");
  });

  it("ends a HEAD response at the head even though Content-Length announces a body", async () => {
    const { response } = await scripted(
      [{ text: "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n" }, { hang: true }],
      "HEAD",
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it.each([204, 304])("returns %i without a body and without waiting for close", async (status) => {
    const { response } = await scripted([
      { text: `HTTP/1.1 ${status} X\r\netag: "e"\r\n\r\n` },
      { hang: true },
    ]);
    expect(response.status).toBe(status);
    expect(response.body).toBeNull();
    expect(response.headers.get("etag")).toBe('"e"');
  });

  it("skips 100 and 103 interim responses", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 100 Continue\r\n\r\n" },
      { text: "HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n" },
      { text: "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody" },
    ]);
    expect(response.status).toBe(200);
    expect(response.headers.get("link")).toBeNull();
    expect(await response.text()).toBe("body");
  });

  it("keeps UTF-8 header values and repeated Set-Cookie fields byte-exact", async () => {
    const head = new TextEncoder().encode(
      "HTTP/1.1 200 OK\r\nx-name: naïve €\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 0\r\n\r\n",
    );
    const { response } = await scripted([{ write: btoa(String.fromCharCode(...head)) }]);
    expect(response.headers.get("x-name")).toBe("naïve €");
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("removes hop-by-hop response headers, including those listed in Connection", async () => {
    const { response } = await scripted([
      {
        text:
          "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
          "Proxy-Connection: x\r\nx-end-to-end: kept\r\ncontent-length: 0\r\n\r\n",
      },
    ]);
    for (const name of ["connection", "keep-alive", "x-hop", "proxy-connection"]) {
      expect(response.headers.get(name)).toBeNull();
    }
    expect(response.headers.get("x-end-to-end")).toBe("kept");
  });

  it("sends Host with the non-default port and the target byte-exact", async () => {
    const id = await mock.script([{ echo: true }]);
    const url = `${mock.url(id, "//a/./b%2F/?q=%20x&&y")}`;
    const { response } = await egress(
      { method: "GET", url, headers: new Headers(), body: null },
      { transport: "socket", aggressiveFallback: false },
    );
    const echo = (await response.json()) as ReceivedRequest;
    expect(echo.headers.filter(([n]) => n.toLowerCase() === "host")).toEqual([
      ["Host", `127.0.0.1:${mock.mainPort}`],
    ]);
    expect(echo.target).toBe(`/${id}//a/./b%2F/?q=%20x&&y`);
    expect(echo.headers.find(([n]) => n.toLowerCase() === "connection")?.[1]).toBe("close");
  });

  it("streams a request body chunked without Content-Length, and with it when the client declared one", async () => {
    const parts = ["alpha-", "beta-", "gamma"];
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of parts) c.enqueue(new TextEncoder().encode(p));
          c.close();
        },
      });
    const send = async (headers: Headers) => {
      const id = await mock.script([{ echo: true }]);
      const { response } = await egress(
        { method: "POST", url: mock.url(id), headers, body: stream() },
        { transport: "socket", aggressiveFallback: false },
      );
      return (await response.json()) as ReceivedRequest;
    };
    const chunked = await send(new Headers());
    const header = (r: ReceivedRequest, n: string) => r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
    expect(header(chunked, "transfer-encoding")).toBe("chunked");
    expect(header(chunked, "content-length")).toBeUndefined();
    expect(chunked.bodyLength).toBe(16);
    const sized = await send(new Headers({ "content-length": "16" }));
    expect(header(sized, "content-length")).toBe("16");
    expect(header(sized, "transfer-encoding")).toBeUndefined();
    expect(sized.bodySha256).toBe(chunked.bodySha256);
  });

  it("sends Content-Length: 0 for a POST without a body", async () => {
    const id = await mock.script([{ echo: true }]);
    const { response } = await egress(
      { method: "POST", url: mock.url(id), headers: new Headers(), body: null },
      { transport: "socket", aggressiveFallback: false },
    );
    const echo = (await response.json()) as ReceivedRequest;
    expect(echo.headers.find(([k]) => k.toLowerCase() === "content-length")?.[1]).toBe("0");
  });

  it("refuses a method with whitespace or CR/LF with a 400, before connecting", async () => {
    const id = await mock.script([{ echo: true }]);
    for (const method of ["GE T", "GET\r\nX: y"]) {
      const err = await caught(
        egress(
          { method, url: mock.url(id), headers: new Headers(), body: null },
          { transport: "socket", aggressiveFallback: true },
        ),
      );
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).status).toBe(400);
    }
    expect((await mock.received(id)).count).toBe(0);
  });
});

describe("socket egress: broken responses", () => {
  it("maps a malformed head to UpstreamProtocolError after the response started", async () => {
    const err = await caught(scripted([{ text: "HTTP/1.1 200 OK\r\nbad header\r\n\r\n" }, { hang: true }]));
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect((err as UpstreamProtocolError).phase).toBe("after_response");
  });

  it("errors the body stream (never a clean end) when the body is truncated", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort" },
      { end: true },
    ]);
    const err = await caught(response.text());
    expect(err).toBeInstanceOf(UpstreamResetError);
    expect((err as UpstreamResetError).phase).toBe("after_response");
  });

  it("errors the body stream when the connection is reset mid-body", async () => {
    const { response } = await scripted([
      { text: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n" },
      { delayMs: 20 },
      { reset: true },
    ]);
    const err = await caught(response.text());
    expect(err).toBeInstanceOf(UpstreamResetError);
  });

  it("reports a connection closed without any answer as a reset after write", async () => {
    const err = await caught(scripted([{ end: true }]));
    expect(err).toBeInstanceOf(UpstreamResetError);
    expect((err as UpstreamResetError).phase).toBe("after_write");
  });
});

describe("socket egress: timeouts", () => {
  const timeouts = (patch: Partial<EgressTimeouts>): EgressTimeouts => ({
    ...DEFAULT_EGRESS_TIMEOUTS,
    ...patch,
  });

  it("times out the connect phase (TLS handshake never answered) before anything is written", async () => {
    const err = await caught(
      sendViaSocket(
        { method: "GET", url: `https://127.0.0.1:${mock.silentPort}/`, headers: new Headers(), body: null },
        timeouts({ connectTimeoutMs: 200 }),
      ),
    );
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err).toMatchObject({ kind: "connect", phase: "before_write", status: 504 });
  });

  it("times out waiting for the first response byte after the request was written", async () => {
    const id = await mock.script([{ hang: true }]);
    const err = await caught(
      sendViaSocket(
        { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
        timeouts({ firstByteTimeoutMs: 200 }),
      ),
    );
    expect(err).toMatchObject({ kind: "first_byte", phase: "after_write", status: 504 });
    expect((await mock.received(id)).count).toBe(1);
  });

  it("times out an upstream that goes silent inside the head (idle, after the response started)", async () => {
    const id = await mock.script([{ text: "HTTP/1.1 200 OK\r\nx-partial: 1\r\n" }, { hang: true }]);
    const err = await caught(
      sendViaSocket(
        { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
        timeouts({ idleTimeoutMs: 200 }),
      ),
    );
    expect(err).toMatchObject({ kind: "idle", phase: "after_response" });
  });

  it("errors the body stream when the upstream stalls mid-body (idle)", async () => {
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial" },
      { hang: true },
    ]);
    const response = await sendViaSocket(
      { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
      timeouts({ idleTimeoutMs: 200 }),
    );
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe("partial");
    const err = await caught(reader?.read() ?? Promise.resolve());
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err).toMatchObject({ kind: "idle", phase: "after_response" });
  });

  it("times out an upload the upstream stops reading (write stall, idle, after write)", async () => {
    const id = await mock.script([{ pauseRead: true }, { hang: true }], "head");
    const bytes = 64 * 1024 * 1024;
    let produced = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (produced >= bytes) return c.close();
        c.enqueue(new Uint8Array(256 * 1024));
        produced += 256 * 1024;
      },
    });
    const err = await caught(
      sendViaSocket(
        { method: "POST", url: mock.url(id), headers: new Headers(), body },
        timeouts({ idleTimeoutMs: 300 }),
      ),
    );
    expect(err).toMatchObject({ kind: "idle", phase: "after_write" });
    // Backpressure: the body was not read to the end while the upstream was not reading.
    expect(produced).toBeLessThan(bytes);
  });
});

describe("socket egress: lifecycle", () => {
  /** Polls the mock until the connection of the id's first request is closed (bounded). */
  async function closedAtMock(id: string): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      if ((await mock.received(id)).requests[0]?.closed) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  it("closes the socket when the client cancels the response body", async () => {
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nsome" },
      { hang: true },
    ]);
    const { response } = await egress(
      { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
      { transport: "socket", aggressiveFallback: false },
    );
    const reader = response.body!.getReader();
    await reader.read();
    expect((await mock.received(id)).requests[0]?.closed).toBe(false);
    await reader.cancel("client went away");
    expect(await closedAtMock(id)).toBe(true);
  });

  it("closes the socket once the body is complete, even if the upstream keeps it open", async () => {
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" },
      { hang: true },
    ]);
    const { response } = await egress(
      { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
      { transport: "socket", aggressiveFallback: false },
    );
    expect(await response.text()).toBe("ok");
    expect(await closedAtMock(id)).toBe(true);
  });

  it("a client abort rejects with the abort reason, closes the socket and does not fall back", async () => {
    const id = await mock.sequence({ steps: [{ hang: true }] }, { steps: [{ echo: true }] });
    const controller = new AbortController();
    const pending = egress(
      {
        method: "POST",
        url: mock.url(id),
        headers: new Headers(),
        body: new Uint8Array(10),
        signal: controller.signal,
      },
      { transport: "socket", aggressiveFallback: true },
    );
    // Abort once the mock has the request: the socket attempt is waiting for the first byte.
    for (let i = 0; i < 100 && (await mock.received(id)).count === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort(new Error("client disconnected"));
    const err = await caught(pending);
    expect((err as Error).message).toBe("client disconnected");
    expect(await closedAtMock(id)).toBe(true);
    expect((await mock.received(id)).count).toBe(1);
  });

  it("writes a large byte-array body in slices without corrupting it", async () => {
    const id = await mock.script([{ echo: true }]);
    const body = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const { response } = await egress(
      { method: "POST", url: mock.url(id), headers: new Headers(), body },
      { transport: "socket", aggressiveFallback: false },
    );
    const echo = (await response.json()) as ReceivedRequest;
    const digest = await crypto.subtle.digest("SHA-256", body);
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(echo.bodyLength).toBe(300_000);
    expect(echo.bodySha256).toBe(hex);
    expect(echo.headers.find(([n]) => n.toLowerCase() === "content-length")?.[1]).toBe("300000");
  });
});

describe("socket egress: request body edge cases", () => {
  const big = (total: number) => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        c.enqueue(new Uint8Array(64 * 1024));
        sent += 64 * 1024;
      },
    });
  };

  it("returns an early answer (413) without waiting for the upload to finish", async () => {
    const id = await mock.script(
      [{ text: "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\n\r\ntoo big!" }, { end: true }],
      "head",
    );
    const { response } = await egress(
      { method: "POST", url: mock.url(id), headers: new Headers(), body: big(64 * 1024 * 1024) },
      { transport: "socket", aggressiveFallback: false },
    );
    expect(response.status).toBe(413);
    expect(await response.text()).toBe("too big!");
  });

  // A body up to SMALL_BODY_BYTES is read whole before the socket opens: the upstream never sees the request. A
  // larger one streams: the upstream sees the head of the one socket attempt, and nothing is replayed through fetch
  // (a replay would have produced a response, not this error).
  it.each([
    ["small", "shorter", 100, 50, 0],
    ["small", "longer", 10, 50, 0],
    ["large", "shorter", SMALL_BODY_BYTES + 100, SMALL_BODY_BYTES + 50, 1],
    ["large", "longer", SMALL_BODY_BYTES + 10, SMALL_BODY_BYTES + 50, 1],
  ])(
    "refuses a %s streamed body %s than its Content-Length as a client error",
    async (_size, _how, length, sent, seenUpstream) => {
      const id = await mock.script([{ echo: true }]);
      const err = await caught(
        egress(
          {
            method: "POST",
            url: mock.url(id),
            headers: new Headers({ "content-length": String(length) }),
            body: bytesStream(sent),
          },
          { transport: "socket", aggressiveFallback: true, timeouts: fast },
        ),
      );
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).reason).toBe("client_body_error");
      let count = (await mock.received(id)).count;
      for (let i = 0; i < 100 && count < seenUpstream; i++) {
        await new Promise((r) => setTimeout(r, 10));
        count = (await mock.received(id)).count;
      }
      expect(count).toBe(seenUpstream);
    },
  );
});

/** A client body stream of `n` zero bytes in one chunk. */
function bytesStream(n: number): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(n));
      c.close();
    },
  });
}

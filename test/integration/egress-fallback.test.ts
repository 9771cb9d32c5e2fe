import { describe, expect, inject, it } from "vitest";
import { createEgress, egress, REPLAY_BUFFER_LIMIT_BYTES } from "../../src/transport/egress";
import {
  BadRequestError,
  UpstreamConnectError,
  UpstreamError,
  UpstreamProtocolError,
  UpstreamResetError,
} from "../../src/transport/errors";
import { fetchEgress } from "../../src/transport/fetch-egress";
import { sendViaSocket } from "../../src/transport/socket-http";
import { RawTcpControl, type ReceivedRequest } from "../mocks/rawtcp-protocol";

/**
 * Every fallback branch of DESIGN §6, counted at the raw TCP mock: the mock answers the n-th request
 * for an id with the n-th script, so "socket fails, fetch succeeds" is observable as count 2 with an
 * intact replayed body, and "no replay" as count 1.
 */
const mock = new RawTcpControl(inject("mockPorts"));
const timeouts = { connectTimeoutMs: 2_000, firstByteTimeoutMs: 300, idleTimeoutMs: 2_000 };
const RESET = { steps: [{ reset: true as const }] };
const ECHO = { steps: [{ echo: true as const }] };

const encoder = new TextEncoder();
const PAYLOAD = '{"model":"m","messages":[{"role":"user","content":"héllo"}]}';

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const part = parts[i++];
      if (part === undefined) c.close();
      else c.enqueue(encoder.encode(part));
    },
  });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

const post = (
  url: string,
  body: ReadableStream<Uint8Array> | Uint8Array = streamOf(...PAYLOAD.match(/.{1,7}/g)!),
) => ({
  method: "POST",
  url,
  headers: new Headers({ "content-type": "application/json" }),
  body,
});

describe("fallback: nothing written (before_write)", () => {
  it("falls back to fetch, and the untouched streamed body arrives whole (request count 1)", async () => {
    const id = await mock.script([{ echo: true }]);
    // Force a connect failure deterministically: locally every socket to the mock would succeed.
    const failingConnect = createEgress({
      sendViaSocket: async () => {
        throw new UpstreamConnectError("connect refused (forced)");
      },
      fetchEgress,
    });
    const { response, transport, fallbackReason } = await failingConnect(post(mock.url(id)), {
      transport: "socket",
      aggressiveFallback: false,
      timeouts,
    });
    expect(transport).toBe("fetch");
    expect(fallbackReason).toBe("upstream_connect_failed");
    expect(response.headers.get("x-proxy-transport")).toBe("fetch");
    expect(response.headers.get("x-proxy-fallback")).toBe("upstream_connect_failed");
    const echo = (await response.json()) as ReceivedRequest;
    expect(echo.bodySha256).toBe(await sha256(PAYLOAD));
    expect((await mock.received(id)).count).toBe(1);
  });

  it("tries fetch after a real refused connection, and reports both failures as a connect error", async () => {
    const url = `http://127.0.0.1:${mock.refusedPort}/x`;
    const socketOnly = await caught(sendViaSocket({ ...post(url), body: null }, { ...timeouts }));
    expect(socketOnly).toBeInstanceOf(UpstreamConnectError);
    const err = await caught(egress(post(url), { transport: "socket", aggressiveFallback: false, timeouts }));
    // The socket's class is kept (health counts it as a connect error); the message proves fetch was tried.
    expect(err).toBeInstanceOf(UpstreamConnectError);
    expect((err as UpstreamError).message).toContain("the fetch fallback failed too");
    expect((err as UpstreamError).cause).toBeInstanceOf(UpstreamError);
  });
});

describe("fallback: a real connect timeout", () => {
  it("falls back after a TLS handshake that never completes (the final error is fetch's)", async () => {
    const url = `https://127.0.0.1:${mock.silentPort}/x`;
    const err = await caught(
      egress(
        { method: "GET", url, headers: new Headers(), body: null },
        {
          transport: "socket",
          aggressiveFallback: false,
          timeouts: { connectTimeoutMs: 150, firstByteTimeoutMs: 300 },
        },
      ),
    );
    // The socket attempt timed out connecting (before_write), so fetch was tried and timed out too.
    expect(err).toMatchObject({ kind: "first_byte", reason: "upstream_timeout_first_byte" });
  });
});

describe("fallback: written, no response byte (after_write)", () => {
  it("with aggressive fallback, replays a reset request through fetch with the whole body (count 2)", async () => {
    const id = await mock.sequence(RESET, ECHO);
    const { response, transport, fallbackReason } = await egress(post(mock.url(id)), {
      transport: "socket",
      aggressiveFallback: true,
      timeouts,
    });
    expect(transport).toBe("fetch");
    expect(fallbackReason).toBe("upstream_reset");
    const echo = (await response.json()) as ReceivedRequest;
    const received = await mock.received(id);
    expect(received.count).toBe(2);
    // The socket attempt sent the whole body, and the replay is identical.
    expect(received.requests[0]?.bodySha256).toBe(await sha256(PAYLOAD));
    expect(echo.bodySha256).toBe(await sha256(PAYLOAD));
    expect(echo.headers.some(([n]) => n.toLowerCase() === "cf-worker")).toBe(true);
  });

  it("with aggressive fallback, replays after a first-byte timeout (count 2)", async () => {
    const id = await mock.sequence({ steps: [{ hang: true }] }, ECHO);
    const { transport, fallbackReason, response } = await egress(
      post(mock.url(id), encoder.encode(PAYLOAD)),
      {
        transport: "socket",
        aggressiveFallback: true,
        timeouts,
      },
    );
    expect(transport).toBe("fetch");
    expect(fallbackReason).toBe("upstream_timeout_first_byte");
    expect(((await response.json()) as ReceivedRequest).bodySha256).toBe(await sha256(PAYLOAD));
    expect((await mock.received(id)).count).toBe(2);
  });

  it("without aggressive fallback, fails without replaying (count 1)", async () => {
    const id = await mock.sequence(RESET, ECHO);
    const err = await caught(
      egress(post(mock.url(id)), { transport: "socket", aggressiveFallback: false, timeouts }),
    );
    expect(err).toBeInstanceOf(UpstreamResetError);
    expect((err as UpstreamResetError).phase).toBe("after_write");
    expect((await mock.received(id)).count).toBe(1);
  });

  it("does not replay a streamed body larger than the replay buffer once it was sent (count 1)", async () => {
    const id = await mock.sequence(RESET, ECHO);
    const total = REPLAY_BUFFER_LIMIT_BYTES + 1024 * 1024;
    let sent = 0;
    const big = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        const n = Math.min(256 * 1024, total - sent);
        c.enqueue(new Uint8Array(n).fill(0x61));
        sent += n;
      },
    });
    const err = await caught(
      egress(post(mock.url(id), big), { transport: "socket", aggressiveFallback: true, timeouts }),
    );
    expect(err).toBeInstanceOf(UpstreamResetError);
    const received = await mock.received(id);
    expect(received.count).toBe(1);
    expect(received.requests[0]?.bodyLength).toBe(total);
  });
});

describe("no fallback once response bytes arrived (after_response)", () => {
  it("a malformed head is not replayed even with aggressive fallback (count 1)", async () => {
    const id = await mock.sequence(
      { steps: [{ text: "HTTP/1.1 2xx nonsense\r\n\r\n" }, { end: true }] },
      ECHO,
    );
    const err = await caught(
      egress(post(mock.url(id)), { transport: "socket", aggressiveFallback: true, timeouts }),
    );
    expect(err).toBeInstanceOf(UpstreamProtocolError);
    expect((await mock.received(id)).count).toBe(1);
  });

  it("a failure mid-body errors the stream and is not replayed (count 1)", async () => {
    const id = await mock.sequence(
      { steps: [{ text: "HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nhalf" }, { reset: true }] },
      ECHO,
    );
    const { response, transport } = await egress(post(mock.url(id)), {
      transport: "socket",
      aggressiveFallback: true,
      timeouts,
    });
    expect(transport).toBe("socket");
    expect(await caught(response.text())).toBeInstanceOf(UpstreamResetError);
    expect((await mock.received(id)).count).toBe(1);
  });

  it("an upstream error status is a response, not a failure: no fallback (count 1)", async () => {
    const id = await mock.sequence(
      { steps: [{ text: "HTTP/1.1 503 Busy\r\ncontent-length: 4\r\n\r\nbusy" }] },
      ECHO,
    );
    const { response, transport } = await egress(post(mock.url(id)), {
      transport: "socket",
      aggressiveFallback: true,
      timeouts,
    });
    expect(transport).toBe("socket");
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("busy");
    expect((await mock.received(id)).count).toBe(1);
  });
});

describe("no fallback for client mistakes; fetch endpoints use fetch only", () => {
  it("a 400 from the writer is not retried through fetch", async () => {
    const id = await mock.script([{ echo: true }]);
    const err = await caught(
      egress(
        { ...post(mock.url(id)), method: "P OST" },
        { transport: "socket", aggressiveFallback: true, timeouts },
      ),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    expect((await mock.received(id)).count).toBe(0);
  });

  it("a fetch endpoint never touches the socket path", async () => {
    const id = await mock.script([{ echo: true }]);
    const { response, transport, fallbackReason } = await egress(post(mock.url(id)), {
      transport: "fetch",
      aggressiveFallback: true,
      timeouts,
    });
    expect(transport).toBe("fetch");
    expect(fallbackReason).toBeNull();
    expect(response.headers.get("x-proxy-transport")).toBe("fetch");
    expect(response.headers.get("x-proxy-fallback")).toBeNull();
    const echo = (await response.json()) as ReceivedRequest;
    // workerd stamps cf-worker on fetch(): proof this request did not take the socket path.
    expect(echo.headers.some(([n]) => n.toLowerCase() === "cf-worker")).toBe(true);
    expect((await mock.received(id)).count).toBe(1);
  });
});

import { describe, expect, inject, it } from "vitest";
import { UpstreamConnectError, UpstreamTimeoutError } from "../../src/transport/errors";
import { openSocket } from "../../src/transport/socket-connect";
import { RawTcpControl } from "../mocks/rawtcp-protocol";

const mock = new RawTcpControl(inject("mockPorts"));

describe("openSocket", () => {
  it("opens a plain TCP socket to an http URL and can exchange bytes", async () => {
    const id = await mock.script([{ text: "HTTP/1.1 204 No Content\r\n\r\n" }, { end: true }]);
    const socket = await openSocket(new URL(mock.url(id)), { connectTimeoutMs: 5_000 });
    const writer = socket.writable.getWriter();
    await writer.write(new TextEncoder().encode(`GET /${id}/ HTTP/1.1\r\nhost: x\r\n\r\n`));
    writer.releaseLock();
    const text = await new Response(socket.readable).text();
    expect(text).toBe("HTTP/1.1 204 No Content\r\n\r\n");
    expect((await mock.received(id)).count).toBe(1);
  });

  it("maps a refused connection to UpstreamConnectError (before_write)", async () => {
    const err = await openSocket(new URL(`http://127.0.0.1:${mock.refusedPort}/`), {
      connectTimeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamConnectError);
    expect((err as UpstreamConnectError).phase).toBe("before_write");
  });

  it("times out a TLS handshake the server never answers", async () => {
    const err = await openSocket(new URL(`https://127.0.0.1:${mock.silentPort}/`), {
      connectTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect((err as UpstreamTimeoutError).kind).toBe("connect");
    expect((err as UpstreamTimeoutError).phase).toBe("before_write");
  });

  it("rejects with the abort reason when the signal aborts", async () => {
    const controller = new AbortController();
    const pending = openSocket(new URL(`https://127.0.0.1:${mock.silentPort}/`), {
      connectTimeoutMs: 60_000,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    controller.abort(new Error("client went away"));
    expect(((await pending) as Error).message).toBe("client went away");
  });
});

/**
 * The fetch transport's own timeouts (the socket path's are in socket-http.test.ts): a head that never
 * comes is a first-byte timeout before the response, a body that goes silent is an idle timeout that
 * errors the stream instead of ending it cleanly.
 */
import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import { UpstreamTimeoutError } from "../../src/transport/errors";
import { RawTcpControl } from "../mocks/rawtcp-protocol";

const mock = new RawTcpControl(inject("mockPorts"));
const timeouts = { connectTimeoutMs: 2_000, firstByteTimeoutMs: 200, idleTimeoutMs: 200 };
const get = (url: string) => ({ method: "GET", url, headers: new Headers(), body: null });

describe("fetch transport timeouts", () => {
  it("fails with a first-byte timeout when the head never comes", async () => {
    const id = await mock.script([{ hang: true }]);
    const error = await egress(get(mock.url(id)), {
      transport: "fetch",
      aggressiveFallback: false,
      timeouts,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).kind).toBe("first_byte");
  });

  it("errors the body with an idle timeout when the upstream goes silent mid-body", async () => {
    const id = await mock.script([
      {
        text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n",
      },
      { hang: true },
    ]);
    const { response } = await egress(get(mock.url(id)), {
      transport: "fetch",
      aggressiveFallback: false,
      timeouts,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        text += decoder.decode(value, { stream: true });
      }
    })().catch((e: unknown) => e);
    expect(text).toBe("hello");
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).kind).toBe("idle");
  });
});

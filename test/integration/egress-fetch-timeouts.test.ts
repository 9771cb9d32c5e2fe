/**
 * The fetch transport's own timeouts (the socket path's are in socket-http.test.ts): a head that never
 * comes is a first-byte timeout before the response, a body that goes silent is an idle timeout that
 * errors the stream instead of ending it cleanly.
 */
import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import { UpstreamResetError, UpstreamTimeoutError } from "../../src/transport/errors";
import { RawTcpControl } from "../mocks/rawtcp-protocol";

const mock = new RawTcpControl(inject("mockPorts"));
const timeouts = { connectTimeoutMs: 2_000, firstByteTimeoutMs: 200, idleTimeoutMs: 200 };
/** A GET of the scripted exchange `id` through the fetch transport alone (no fallback). */
const fetchScripted = (id: string) =>
  egress(
    { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
    { transport: "fetch", aggressiveFallback: false, timeouts },
  );

describe("fetch transport timeouts", () => {
  it("fails with a first-byte timeout when the head never comes", async () => {
    const id = await mock.script([{ hang: true }]);
    const error = await fetchScripted(id).catch((e: unknown) => e);
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
    const { response } = await fetchScripted(id);
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

  // A small answer with a Content-Length is read whole before the response is handed on (no pump per chunk), so
  // its failures come before the head reaches the caller: failover can still act, and nothing short is delivered.
  it("a small declared body that goes silent is an idle timeout before any response", async () => {
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: application/json\r\n\r\nhello" },
      { hang: true },
    ]);
    const error = await fetchScripted(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).kind).toBe("idle");
    expect((error as UpstreamTimeoutError).phase).toBe("after_response");
  });

  it("a small declared body cut short is a reset, never a clean shorter body", async () => {
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: application/json\r\n\r\nhello" },
      { reset: true },
    ]);
    const outcome = await fetchScripted(id).then(
      async ({ response }) => ({ text: await response.text() }),
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(UpstreamResetError);
  });

  it("a small declared body that arrives whole is passed on byte for byte", async () => {
    const id = await mock.script([
      { text: 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{"ok":true}' },
      { end: true },
    ]);
    const { response } = await fetchScripted(id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe('{"ok":true}');
  });
});

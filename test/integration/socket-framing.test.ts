/**
 * Ambiguous HTTP/1.1 framing from an upstream, end to end through the gateway (issue 11, item 11):
 * a raw TCP upstream answers byte for byte, and the client gets a 502 in the error format of
 * DESIGN §8 instead of a body whose end or encoding the gateway would have had to guess. The
 * WebSocket handshake reads its 101 with the same head parser.
 */
import { describe, expect, inject, it } from "vitest";
import { RawTcpControl } from "../mocks/rawtcp-protocol";
import { gateway } from "./gateway";

const TOKEN = "framing-token-0123456789";
const vars = { AUTH_TOKEN: TOKEN };
const mock = new RawTcpControl(inject("mockPorts"));

async function errorOf(response: Response) {
  const body = (await response.json()) as {
    error: { code: number; status: string; message: string; request_id: string };
  };
  expect(body.error.code).toBe(response.status);
  expect(body.error.request_id).toBe(response.headers.get("x-proxy-request-id"));
  return { ...body.error, reason: response.headers.get("x-proxy-error") };
}

/** Sends a request through the generic proxy to a raw upstream that answers `answer` and closes. */
async function through(answer: string, init: RequestInit = {}, scheme = "http"): Promise<Response> {
  const id = await mock.script([{ text: answer }, { end: true }], "head");
  return gateway(`/${TOKEN}/${scheme}/127.0.0.1:${mock.mainPort}/${id}/v1/x`, init, vars);
}

describe("socket egress refuses ambiguous response framing", () => {
  it.each([
    [
      "Content-Length with Transfer-Encoding: identity",
      "content-length: 3\r\ntransfer-encoding: identity\r\n\r\nabc",
    ],
    [
      "Content-Length with Transfer-Encoding: chunked",
      "content-length: 9\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    ["an empty Content-Length", "content-length:\r\n\r\nabc"],
    ["an empty Transfer-Encoding line", "transfer-encoding:\r\n\r\nabc"],
    ["a transfer coding other than chunked", "transfer-encoding: gzip\r\n\r\nstill-encoded"],
  ])("%s: 502 with the error JSON", async (_, rest) => {
    const response = await through(`HTTP/1.1 200 OK\r\n${rest}`);
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toContain("application/json");
    const error = await errorOf(response);
    expect(error.status).toBe("UNAVAILABLE");
    expect(error.reason).toBe("upstream_protocol_error");
    expect(error.message).toContain("upstream protocol error");
  });

  it("still relays a well-framed answer from the same upstream", async () => {
    const response = await through(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
  });
});

describe("WebSocket handshake uses the same head parser", () => {
  const upgrade = { headers: { upgrade: "websocket", "sec-websocket-version": "13" } };

  it("a 101 head with bare-LF line ends completes (and is then checked) instead of waiting for the timeout", async () => {
    const response = await through(
      "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Accept: wrong\n\n",
      upgrade,
      "ws",
    );
    expect(response.status).toBe(502);
    const error = await errorOf(response);
    expect(error.reason).toBe("upstream_ws_handshake_failed");
    expect(error.message).toContain("Sec-WebSocket-Accept");
  });

  it("a 101 head with whitespace before a colon is a protocol error", async () => {
    const response = await through(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\nConnection: Upgrade\r\n\r\n",
      upgrade,
      "ws",
    );
    expect(response.status).toBe(502);
    expect((await errorOf(response)).reason).toBe("upstream_protocol_error");
  });
});

import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import type { TransportKind } from "../../src/transport/endpoint";
import { RawTcpControl, type ReceivedRequest } from "../mocks/rawtcp-protocol";

/**
 * The privacy proof (issue 3): every identifying header of DESIGN §6 that a client sends is absent at
 * the upstream on both transports, while credentials, content type and custom headers arrive intact.
 * The raw TCP echo mock reports the header lines exactly as they arrived on the wire.
 */
const mock = new RawTcpControl(inject("mockPorts"));

const IDENTIFYING: Record<string, string> = {
  "cf-connecting-ip": "203.0.113.7",
  "cf-ipcountry": "NL",
  "cf-ray": "8abc-AMS",
  "cf-visitor": '{"scheme":"https"}',
  "x-forwarded-for": "203.0.113.7, 10.0.0.1",
  "x-forwarded-proto": "https",
  "x-forwarded-host": "gateway.example",
  "x-real-ip": "203.0.113.7",
  "true-client-ip": "203.0.113.7",
  "x-client-ip": "203.0.113.7",
  forwarded: "for=203.0.113.7;proto=https",
  via: "1.1 some-proxy",
  cookie: "session=secret",
  referer: "https://client.example/page",
  origin: "https://client.example",
  "x-proxy-token": "gateway-secret-token",
  "proxy-authorization": "Basic Zm9vOmJhcg==",
  "cdn-loop": "cloudflare",
  // Client-address headers of other proxies and CDNs, and the Global Privacy Control signal (issue 11.6).
  "x-originating-ip": "203.0.113.7",
  "x-forwarded": "for=203.0.113.7",
  "x-remote-ip": "203.0.113.7",
  "x-remote-addr": "203.0.113.7",
  "x-envoy-external-address": "203.0.113.7",
  "fastly-client-ip": "203.0.113.7",
  "x-original-forwarded-for": "203.0.113.7",
  "x-proxyuser-ip": "203.0.113.7",
  "sec-gpc": "1",
};

const KEPT: Record<string, string> = {
  authorization: "Bearer sk-test-123",
  "x-api-key": "anthropic-key-456",
  "content-type": "application/json; charset=utf-8",
  "x-goog-api-key": "gemini-key-789",
  "anthropic-version": "2023-06-01",
  "x-custom-trace": "abc-123",
  accept: "text/event-stream",
};

async function echoThrough(transport: TransportKind): Promise<{ echo: ReceivedRequest; response: Response }> {
  const id = await mock.script([{ echo: true }]);
  const headers = new Headers({ ...IDENTIFYING, ...KEPT });
  const { response } = await egress(
    { method: "POST", url: mock.url(id, "/v1/chat"), headers, body: new TextEncoder().encode('{"q":1}') },
    { transport, aggressiveFallback: false },
  );
  return { echo: (await response.json()) as ReceivedRequest, response };
}

const names = (echo: ReceivedRequest) => echo.headers.map(([n]) => n.toLowerCase());
const value = (echo: ReceivedRequest, name: string) =>
  echo.headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe.each(["socket", "fetch"] as const)("privacy on the %s path", (transport) => {
  it("drops every identifying header and keeps credentials, content type and custom headers", async () => {
    const { echo, response } = await echoThrough(transport);
    expect(response.headers.get("x-proxy-transport")).toBe(transport);
    const received = names(echo);
    for (const name of Object.keys(IDENTIFYING)) expect(received, name).not.toContain(name);
    for (const [name, v] of Object.entries(KEPT)) expect(value(echo, name), name).toBe(v);
    expect(echo.bodyLength).toBe(7);
    expect(echo.complete).toBe(true);
  });
});

describe("what only the socket path hides", () => {
  it("sends no cf-worker header on the socket path (workerd's fetch always adds one)", async () => {
    const socket = await echoThrough("socket");
    expect(names(socket.echo)).not.toContain("cf-worker");
    const viaFetch = await echoThrough("fetch");
    expect(names(viaFetch.echo)).toContain("cf-worker");
  });

  it("sends exactly the expected header set on the socket path, nothing added", async () => {
    const { echo } = await echoThrough("socket");
    expect(names(echo).sort()).toEqual([...Object.keys(KEPT), "host", "content-length", "connection"].sort());
  });
});

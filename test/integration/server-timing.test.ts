/**
 * Every response the Worker sends carries the gateway's `Server-Timing` entries (issue 13 item 3):
 * proxied answers on both transports and the generic route, the gateway's own error JSON, `/health`,
 * SSE streams, a protected Gemini session and a WebSocket accept.
 */
import { describe, expect, it } from "vitest";
import { callGateway, echoEndpoint, gateway, mockPort } from "./gateway";
import {
  env,
  mockOrigin as geminiOrigin,
  prompt,
  reattachGeminiSession,
  scenario,
  ssePath,
} from "./gemini-harness";
import { wsMockPort } from "./ws-client";

const TOKEN = "timing-token-0123456789";

type Entries = Record<string, number>;

/** Parses the gateway's entries (`name;dur=x`) from the header; fails when any is missing or malformed. */
function gatewayTiming(response: Response): Entries {
  const header = response.headers.get("server-timing");
  expect(header, `status ${response.status} without Server-Timing`).not.toBeNull();
  const entries: Entries = {};
  for (const part of (header ?? "").split(",")) {
    const match = /^\s*(gw-[a-z]+);dur=(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (match) entries[match[1]!] = Number(match[2]);
  }
  expect(Object.keys(entries)).toEqual(expect.arrayContaining(["gw-pre", "gw-headers"]));
  expect(entries["gw-headers"]).toBeGreaterThanOrEqual(entries["gw-pre"]!);
  return entries;
}

/** An answer that called an upstream: its wait sits between the gateway's time before and its total. */
function expectUpstreamCalled(entries: Entries): void {
  expect(entries["gw-upstream"]).toBeDefined();
  expect(entries["gw-pre"]! + entries["gw-upstream"]!).toBeLessThanOrEqual(entries["gw-headers"]! + 0.02);
}

describe("Server-Timing on every response", () => {
  it.each(["socket", "fetch"] as const)(
    "a proxied answer over %s shows the upstream's wait under gw-upstream",
    async (transport) => {
      const response = await gateway(
        "/openai/v1/models?mock_delay_ms=60",
        {},
        { ENDPOINTS: echoEndpoint("openai", { transport }) },
      );
      expect(response.status).toBe(200);
      const entries = gatewayTiming(response);
      expectUpstreamCalled(entries);
      // The mock waited 60 ms before its head: that wait is the upstream's, not the gateway's.
      expect(entries["gw-upstream"]).toBeGreaterThanOrEqual(55);
      expect(response.headers.get("access-control-expose-headers")).toContain("server-timing");
      expect(response.headers.get("timing-allow-origin")).toBe("*");
      await response.arrayBuffer();
    },
  );

  it("the generic route carries it and keeps the upstream's own Server-Timing entries", async () => {
    const response = await gateway(
      `/${TOKEN}/http/127.0.0.1:${mockPort("echo")}/x?mock_header=server-timing:db;dur=7`,
      {},
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(200);
    expectUpstreamCalled(gatewayTiming(response));
    expect(response.headers.get("server-timing")).toMatch(/^db;dur=7, gw-pre;dur=/);
    await response.arrayBuffer();
  });

  it("the gateway's own error JSON carries it, without an upstream entry", async () => {
    for (const [path, status] of [
      ["/no-such-endpoint/v1/x", 404],
      ["/wrong-token/http/127.0.0.1:1/x", 401],
    ] as const) {
      const response = await gateway(path, {}, { AUTH_TOKEN: TOKEN });
      expect(response.status).toBe(status);
      expect(response.headers.get("x-proxy-error")).toBeTruthy();
      expect(gatewayTiming(response)["gw-upstream"]).toBeUndefined();
      await response.arrayBuffer();
    }
  });

  it("an upstream that cannot be reached is an error JSON with the failed call timed", async () => {
    const response = await gateway(
      "/dead/v1/x",
      {},
      { ENDPOINTS: JSON.stringify({ dead: { targets: ["http://127.0.0.1:1"], transport: "socket" } }) },
    );
    expect(response.status).toBe(502);
    expectUpstreamCalled(gatewayTiming(response));
    await response.arrayBuffer();
  });

  it("/health, /healthz and the dashboard carry it", async () => {
    for (const path of ["/health", "/healthz", "/"]) {
      const response = await gateway(path, {}, { ENDPOINTS: echoEndpoint("openai") });
      expect(response.status).toBe(200);
      expect(gatewayTiming(response)["gw-upstream"]).toBeUndefined();
      await response.arrayBuffer();
    }
  });

  it("an SSE stream carries it in its head, before the first event", async () => {
    const response = await gateway(
      "/openai/v1/events?mock_sse=3&mock_interval_ms=5",
      {},
      { ENDPOINTS: echoEndpoint("openai") },
    );
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expectUpstreamCalled(gatewayTiming(response));
    expect(await response.text()).toContain("data:");
  });

  it("a protected Gemini stream carries it, the session object timed as the upstream", async () => {
    const id = await scenario({ answer: "A short answer for the timing test.", chunkChars: 8 });
    const { response, settled } = await callGateway(
      `/mygem${ssePath(id)}`,
      { method: "POST", body: JSON.stringify(prompt()), headers: { "content-type": "application/json" } },
      { ENDPOINTS: JSON.stringify({ mygem: { targets: [geminiOrigin()], gemini: true } }) },
    );
    expect(response.status).toBe(200);
    const sessionId = response.headers.get("x-proxy-session-id");
    expect(sessionId).toBeTruthy();
    expectUpstreamCalled(gatewayTiming(response));
    expect(await response.text()).toContain("STOP");
    // The Worker served this stream; its session object finishes on its own (feed, counters, health reports). Read
    // the object's log to its end, so none of that work outlives this test file (vitest would fail the run).
    await settled;
    expect(await (await reattachGeminiSession(env, sessionId!, 0)).text()).toContain("STOP");
  });

  it("a WebSocket accept carries it", async () => {
    const response = await gateway(
      `/${TOKEN}/ws/127.0.0.1:${wsMockPort()}/echo?id=timing`,
      { headers: { upgrade: "websocket" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(101);
    expectUpstreamCalled(gatewayTiming(response));
    const socket = response.webSocket!;
    const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    socket.accept();
    socket.close(1000);
    // The relay's close handshake (and its session object's end) completes within this test.
    await closed;
  });

  it("the preflight answer carries it", async () => {
    const response = await gateway(
      "/openai/v1/chat/completions",
      { method: "OPTIONS", headers: { origin: "https://app.example" } },
      { ENDPOINTS: echoEndpoint("openai"), AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(204);
    expect(gatewayTiming(response)["gw-upstream"]).toBeUndefined();
  });
});

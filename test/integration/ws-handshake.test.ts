import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openRelay, UpgradeRequiredError } from "../../src/durable/relay/relay-route";
import { BadRequestError, UpstreamConnectError } from "../../src/transport/errors";
import { UpstreamHandshakeError } from "../../src/transport/ws-handshake";
import { RelayClient, upgradeRequest, wsUrl } from "./ws-client";

const target = (path: string) => ({
  upstreamUrl: wsUrl(path),
  transport: "socket" as const,
  endpointName: "generic",
  geminiLive: false,
});

describe("WebSocket relay: handshake", () => {
  it("returns the upstream's subprotocol choice to the client", async () => {
    const c = await RelayClient.open("/echo?id=proto", {
      headers: { "sec-websocket-protocol": "chat.v1, chat.v2" },
    });
    expect(c.response.status).toBe(101);
    expect(c.response.headers.get("sec-websocket-protocol")).toBe("chat.v2");
    c.ws.close(1000);
    await c.closed;
  });

  it("omits the subprotocol when the upstream selects none", async () => {
    const c = await RelayClient.open("/echo?id=noproto", { headers: { "sec-websocket-protocol": "other" } });
    expect(c.response.headers.get("sec-websocket-protocol")).toBeNull();
    c.ws.close(1000);
    await c.closed;
  });

  it("sends no identifying header and no extension offer upstream", async () => {
    const c = await RelayClient.open("/echo?id=headers", {
      headers: {
        authorization: "Bearer upstream-key",
        "cf-connecting-ip": "203.0.113.7",
        "x-forwarded-for": "203.0.113.7",
        "x-real-ip": "203.0.113.7",
        "true-client-ip": "203.0.113.7",
        forwarded: "for=203.0.113.7",
        via: "1.1 somewhere",
        cookie: "session=secret",
        origin: "https://app.example",
        referer: "https://app.example/page",
        "x-proxy-token": "gateway-token",
        "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
      },
    });
    c.ws.send("cmd:headers");
    const headers = new Map(JSON.parse(await c.nextText()) as [string, string][]);
    for (const name of [
      "cf-connecting-ip",
      "x-forwarded-for",
      "x-real-ip",
      "true-client-ip",
      "forwarded",
      "via",
      "cookie",
      "origin",
      "referer",
      "x-proxy-token",
      "x-proxy-relay-init",
      "sec-websocket-extensions",
    ]) {
      expect(headers.has(name), name).toBe(false);
    }
    expect(headers.get("authorization")).toBe("Bearer upstream-key");
    expect(headers.get("host")).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(headers.get("sec-websocket-version")).toBe("13");
    c.ws.close(1000);
    await c.closed;
  });

  it("answers an upstream refusal with a 502 error carrying the upstream status, not a 101", async () => {
    const err = await openRelay(env, upgradeRequest(), target("/status/403"), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamHandshakeError);
    expect((err as UpstreamHandshakeError).status).toBe(502);
    expect((err as UpstreamHandshakeError).upstreamStatus).toBe(403);
    expect((err as Error).message).toContain("403");
  });

  it("reports an unreachable upstream as a connect error", async () => {
    // Port 1 on loopback refuses; the fetch fallback is tried and fails too.
    const err = await openRelay(
      env,
      upgradeRequest(),
      { ...target("/"), upstreamUrl: "ws://127.0.0.1:1/" },
      { connectTimeoutMs: 2000 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamConnectError);
    expect((err as UpstreamConnectError).status).toBe(502);
  });

  it("refuses requests that are not upgrades (426) and bad targets (400)", async () => {
    const plain = new Request("http://gateway.test/relay");
    await expect(openRelay(env, plain, target("/echo"))).rejects.toBeInstanceOf(UpgradeRequiredError);
    await expect(openRelay(env, plain, target("/echo"))).rejects.toMatchObject({ status: 426 });
    const post = new Request("http://gateway.test/relay", {
      method: "POST",
      headers: { upgrade: "websocket" },
    });
    await expect(openRelay(env, post, target("/echo"))).rejects.toMatchObject({ status: 400 });
    await expect(
      openRelay(env, upgradeRequest({ "sec-websocket-version": "8" }), target("/echo")),
    ).rejects.toMatchObject({ status: 426 });
    await expect(
      openRelay(env, upgradeRequest(), { ...target("/"), upstreamUrl: "https://example.com/" }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });

  it("relays through the platform's fetch WebSocket when the endpoint's transport is fetch", async () => {
    const c = await RelayClient.open("/echo?id=fetch", {
      target: { transport: "fetch" },
      headers: { "sec-websocket-protocol": "chat.v1" },
    });
    expect(c.response.headers.get("sec-websocket-protocol")).toBe("chat.v1");
    c.ws.send("via fetch");
    expect(await c.nextText()).toBe("via fetch");
    c.ws.send(new Uint8Array([1, 2, 3]));
    expect([...(await c.nextBinary())]).toEqual([1, 2, 3]);
    c.ws.send("cmd:close:4001:fetch bye");
    expect(await c.closed).toEqual({ code: 4001, reason: "fetch bye" });
  });
});

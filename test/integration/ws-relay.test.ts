import { describe, expect, it } from "vitest";
import type { WsConnectionLog } from "../mocks/ws.mock";
import { patternBytes, RelayClient, sameBytes, wsMockLog } from "./ws-client";

const enc = new TextEncoder();

describe("WebSocket relay: messages", () => {
  it("round-trips text as text and binary as binary", async () => {
    const c = await RelayClient.open("/echo?id=types");
    c.ws.send("héllo ✓");
    expect(await c.nextText()).toBe("héllo ✓");
    c.ws.send(enc.encode("bytes, not text"));
    expect(new TextDecoder().decode(await c.nextBinary())).toBe("bytes, not text");
    c.ws.send(new Uint8Array([0, 255, 1, 254]));
    expect([...(await c.nextBinary())]).toEqual([0, 255, 1, 254]);
    c.ws.close(1000, "done");
    expect(await c.closed).toEqual({ code: 1000, reason: "done" });
  });

  it("carries a 1 MiB message both ways", async () => {
    const c = await RelayClient.open("/echo?id=big");
    const big = patternBytes(1024 * 1024);
    c.ws.send(big);
    expect(sameBytes(await c.nextBinary(), big)).toBe(true);
    c.ws.send("cmd:big:1048576");
    expect(sameBytes(await c.nextBinary(), big)).toBe(true);
    c.ws.close(1000);
    await c.closed;
  });

  it("keeps 1,000 messages in order", async () => {
    const c = await RelayClient.open("/echo?id=order");
    for (let i = 0; i < 1000; i++) c.ws.send(i % 2 === 0 ? `m${i}` : enc.encode(`m${i}`));
    for (let i = 0; i < 1000; i++) {
      const m = await c.next();
      expect(typeof m === "string" ? m : new TextDecoder().decode(m)).toBe(`m${i}`);
      expect(typeof m === "string").toBe(i % 2 === 0);
    }
    c.ws.close(1000);
    await c.closed;
    const log = await wsMockLog<WsConnectionLog>("log", "order");
    expect(log.messages).toBe(1000);
  });

  it("reassembles fragmented upstream messages, text and binary", async () => {
    const c = await RelayClient.open("/echo?id=frag");
    c.ws.send("cmd:fragment:5:fragmented ✓ text across five frames");
    expect(await c.nextText()).toBe("fragmented ✓ text across five frames");
    c.ws.send("cmd:fragment-bin:3:binary in three");
    expect(new TextDecoder().decode(await c.nextBinary())).toBe("binary in three");
    c.ws.close(1000);
    await c.closed;
  });

  it("answers upstream pings with the same payload", async () => {
    const c = await RelayClient.open("/echo?id=ping");
    c.ws.send("cmd:ping:are-you-there");
    expect(await c.nextText()).toBe("pong:are-you-there");
    c.ws.close(1000);
    await c.closed;
  });

  it("delivers a frame that arrived in the same read as the 101", async () => {
    const c = await RelayClient.open("/early");
    expect(await c.nextText()).toBe("early hello");
    c.ws.send("x");
    expect(await c.nextText()).toBe("early echo:x");
    c.ws.close(1000, "bye");
    expect((await c.closed).code).toBe(1000);
  });
});

describe("WebSocket relay: close propagation", () => {
  for (const [code, reason] of [
    [1000, "normal"],
    [1011, "server broke"],
    [4000, "app-defined"],
    [4999, "last private code"],
  ] as const) {
    it(`upstream close ${code} reaches the client with its reason`, async () => {
      const id = `up-close-${code}`;
      const c = await RelayClient.open(`/echo?id=${id}`);
      c.ws.send(`cmd:close:${code}:${reason}`);
      expect(await c.closed).toEqual({ code, reason });
    });

    it(`client close ${code} reaches the upstream with its reason`, async () => {
      const id = `client-close-${code}`;
      const c = await RelayClient.open(`/echo?id=${id}`);
      c.ws.send("ready?");
      await c.nextText();
      c.ws.close(code, reason);
      expect(await c.closed).toEqual({ code, reason });
      const log = await wsMockLog<WsConnectionLog>("log", id, true);
      expect({ code: log.closeCode, reason: log.closeReason }).toEqual({ code, reason });
    });
  }
});

describe("WebSocket relay: close edge cases", () => {
  it("passes a close without a status code through as 1005", async () => {
    const c = await RelayClient.open("/echo?id=close-empty");
    c.ws.send("cmd:close");
    expect(await c.closed).toEqual({ code: 1005, reason: "" });
  });

  it("completes the client's close with its own code when the upstream never answers", async () => {
    const c = await RelayClient.open("/stall", { settings: { closeTimeoutMs: 100 } });
    c.ws.close(4005, "nobody listens");
    expect(await c.closed).toEqual({ code: 4005, reason: "nobody listens" });
  });
});

describe("WebSocket relay: limits", () => {
  it("closes with 1009 when the client sends more than the limit", async () => {
    const c = await RelayClient.open("/echo?id=limit-client", { settings: { maxMessageBytes: 1000 } });
    c.ws.send(new Uint8Array(1000));
    expect((await c.nextBinary()).length).toBe(1000);
    c.ws.send(new Uint8Array(1001));
    expect((await c.closed).code).toBe(1009);
  });

  it("closes with 1009 when the upstream sends more than the limit", async () => {
    const c = await RelayClient.open("/echo?id=limit-up", { settings: { maxMessageBytes: 1000 } });
    c.ws.send("cmd:big:5000");
    expect((await c.closed).code).toBe(1009);
  });

  it("bounds what it buffers for an upstream that stops reading: the client is closed with 1013", async () => {
    const c = await RelayClient.open("/stall", { settings: { maxBufferedBytes: 256 * 1024 } });
    const chunk = new Uint8Array(1024 * 1024);
    // Far more than loopback TCP buffers can absorb (a few MiB), so the relay's own queue must grow.
    for (let i = 0; i < 48; i++) c.ws.send(chunk);
    expect(await c.closed).toEqual({ code: 1013, reason: "upstream is not keeping up" });
  });

  it("pings a quiet upstream to keep the session alive", async () => {
    const c = await RelayClient.open("/echo?id=keepalive", { settings: { keepAlivePingMs: 50 } });
    const log = await wsMockLog<WsConnectionLog>("log", "keepalive", "ping");
    expect(log.pings).toBeGreaterThanOrEqual(1);
    c.ws.close(1000);
    await c.closed;
  });

  it("closes an idle session with 1001", async () => {
    const c = await RelayClient.open("/echo?id=idle", { settings: { idleTimeoutMs: 150 } });
    c.ws.send("activity");
    expect(await c.nextText()).toBe("activity");
    expect(await c.closed).toEqual({ code: 1001, reason: "idle timeout" });
  });
});

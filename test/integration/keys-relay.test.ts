/**
 * WebSocket relays on an endpoint with a key pool (issue 14): the handshake carries a pool key in
 * place of the client's, a refused key moves on before the client's 101, and a Gemini Live session
 * resumes with the key it started with.
 */
import { describe, expect, it } from "vitest";
import type { LiveSessionLog, WsConnectionLog } from "../mocks/ws.mock";
import { gateway } from "./gateway";
import { scenarioId } from "./health-harness";
import { type Received, RelayClient, wsMockLog, wsMockPort } from "./ws-client";

const TOKEN = "ws-keys-token-14";
const KEYS = ["ws-pool-key-one-91ab", "ws-pool-key-two-73cd", "ws-pool-key-three-55ef"];

function vars(name: string) {
  return {
    AUTH_TOKEN: TOKEN,
    ENDPOINTS: JSON.stringify({
      [name]: {
        targets: `http://127.0.0.1:${wsMockPort()}`,
        gemini: true,
        keys: { secret: "WS_POOL", header: "x-goog-api-key" },
      },
    }),
    WS_POOL: KEYS.join("\n"),
  } as Record<string, string>;
}

const upgrade = (extra: Record<string, string> = {}) => ({ headers: { upgrade: "websocket", ...extra } });

function json(m: Received): Record<string, unknown> {
  return JSON.parse(typeof m === "string" ? m : new TextDecoder().decode(m)) as Record<string, unknown>;
}

describe("WebSocket relay with a key pool", () => {
  it("needs the token, and sends a pool key instead of the client's", async () => {
    const name = scenarioId("kws");
    const refused = await gateway(`/${name}/echo?id=${name}-x`, upgrade(), vars(name));
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();

    const response = await gateway(
      `/${TOKEN}/${name}/echo?id=${name}&key=client-own-q`,
      upgrade({
        "x-goog-api-key": "client-own-h",
        authorization: "Bearer client-own-b",
        "x-proxy-affinity": "conv-1",
      }),
      vars(name),
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    c.ws.send("hello");
    expect(await c.nextText()).toBe("hello");
    c.ws.close(1000, "bye");
    await c.closed;
    const log = await wsMockLog<WsConnectionLog>("log", name, true);
    const sent = Object.fromEntries(log.headers.map(([k, v]) => [k.toLowerCase(), v]));
    expect(KEYS).toContain(sent["x-goog-api-key"]);
    expect(sent.authorization).toBeUndefined();
    expect(sent["x-proxy-affinity"]).toBeUndefined();
    expect(JSON.stringify(log.headers)).not.toContain("client-own");
  });

  it("a handshake refused for every key (401) ends in 503 no_usable_key, never a 101", async () => {
    const name = scenarioId("kwsbad");
    const response = await gateway(`/${TOKEN}/${name}/status/401`, upgrade(), vars(name));
    expect(response.status).toBe(503);
    expect(response.headers.get("x-proxy-error")).toBe("no_usable_key");
    const text = await response.text();
    for (const key of KEYS) expect(text).not.toContain(key);
  });

  it("a Gemini Live session resumes with the key it started with", async () => {
    const name = scenarioId("kwslive");
    const tag = `${name}-live`;
    const response = await gateway(
      `/${TOKEN}/${name}/live/goaway/BidiGenerateContent?tag=${tag}`,
      upgrade(),
      vars(name),
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    c.ws.send(
      JSON.stringify({ setup: { model: "models/live-mock", sessionResumption: { transparent: true } } }),
    );
    expect(json(await c.next())).toEqual({ setupComplete: {} });
    const turn = (text: string) =>
      JSON.stringify({ clientContent: { turns: [{ role: "user", parts: [{ text }] }], turnComplete: true } });
    const texts = ["m0", "m1", "m2", "m3", "m4", "m5", "after"];
    for (const text of texts.slice(0, -1)) c.ws.send(turn(text));
    const echoes: string[] = [];
    let sentAfter = false;
    while (echoes.length < texts.length) {
      const content = json(await c.next()).serverContent as
        | { modelTurn?: { parts: { text: string }[] } }
        | undefined;
      const text = content?.modelTurn?.parts[0]?.text;
      if (text) echoes.push(text);
      // The goAway came after m2; this turn can only be answered by the resumed connection.
      if (echoes.length === texts.length - 1 && !sentAfter) {
        sentAfter = true;
        c.ws.send(turn("after"));
      }
    }
    expect(echoes).toEqual(texts.map((t) => `echo:${t}`));
    c.ws.close(1000, "done");
    await c.closed;
    const log = await wsMockLog<LiveSessionLog>("live-log", tag);
    expect(log.connections).toBe(2); // the goAway made the relay resume once
    expect(log.keys).toHaveLength(2);
    expect(KEYS).toContain(log.keys[0]);
    expect(log.keys[1]).toBe(log.keys[0]);
  });
});

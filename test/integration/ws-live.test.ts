import { describe, expect, it } from "vitest";
import type { LiveSessionLog } from "../mocks/ws.mock";
import { type Received, RelayClient, wsMockLog } from "./ws-client";

const MESSAGES = 10;

function json(m: Received): Record<string, unknown> {
  return JSON.parse(typeof m === "string" ? m : new TextDecoder().decode(m)) as Record<string, unknown>;
}

function turn(text: string): string {
  return JSON.stringify({
    clientContent: { turns: [{ role: "user", parts: [{ text }] }], turnComplete: true },
  });
}

/**
 * Runs one Live session through the relay: setup, then MESSAGES client turns sent without waiting,
 * and collects the client's view until every echo arrived. Returns the texts echoed, in order, and
 * how many setupComplete / goAway messages the client saw.
 */
async function liveSession(scenario: string, tag: string, resumption = true) {
  const c = await RelayClient.open(`/live/${scenario}?tag=${tag}`, { target: { geminiLive: true } });
  const setup = {
    setup: {
      model: "models/gemini-live-mock",
      ...(resumption ? { sessionResumption: { transparent: true } } : {}),
    },
  };
  c.ws.send(JSON.stringify(setup));
  expect(json(await c.next())).toEqual({ setupComplete: {} });
  for (let i = 0; i < MESSAGES; i++) c.ws.send(turn(`m${i}`));
  return c;
}

async function collectEchoes(c: RelayClient, count: number) {
  const echoes: string[] = [];
  let setupCompletes = 0;
  let goAways = 0;
  while (echoes.length < count) {
    const msg = json(await c.next());
    if ("setupComplete" in msg) setupCompletes++;
    if ("goAway" in msg) goAways++;
    const content = msg.serverContent as { modelTurn: { parts: { text: string }[] } } | undefined;
    if (content) echoes.push(content.modelTurn.parts[0]!.text);
  }
  return { echoes, setupCompletes, goAways };
}

const expected = Array.from({ length: MESSAGES }, (_, i) => `echo:m${i}`);

describe("Gemini Live relay: transparent resumption", () => {
  it("on goAway reconnects with the latest handle; the client sees one uninterrupted session", async () => {
    const c = await liveSession("goaway", "goaway-1");
    const seen = await collectEchoes(c, MESSAGES);
    expect(seen).toEqual({ echoes: expected, setupCompletes: 0, goAways: 0 });
    // The relay stopped feeding the old connection when goAway arrived (before echo m3), so this
    // message can only be answered by the resumed connection.
    c.ws.send(turn("after"));
    expect(await collectEchoes(c, 1)).toEqual({ echoes: ["echo:after"], setupCompletes: 0, goAways: 0 });
    const log = await wsMockLog<LiveSessionLog>("live-log", "goaway-1");
    expect(log.connections).toBe(2);
    expect(log.resumedWith).toHaveLength(1);
    expect(log.duplicates).toEqual([]);
    expect(log.consumed).toEqual([...expected.map((e) => e.slice("echo:".length)), "after"]);
    c.ws.close(1000, "done");
    expect(await c.closed).toEqual({ code: 1000, reason: "done" });
  });

  it("on a drop replays the messages the server had not consumed, exactly once", async () => {
    const c = await liveSession("drop", "drop-1");
    const seen = await collectEchoes(c, MESSAGES);
    expect(seen).toEqual({ echoes: expected, setupCompletes: 0, goAways: 0 });
    const log = await wsMockLog<LiveSessionLog>("live-log", "drop-1");
    expect(log.connections).toBe(2);
    expect(log.duplicates).toEqual([]);
    expect(log.consumed).toEqual(expected.map((e) => e.slice("echo:".length)));
    c.ws.close(1000);
    await c.closed;
  });

  it("closes the client with the upstream's code and reason when no handle allows resumption", async () => {
    const c = await liveSession("noresume", "noresume-1", false);
    const seen = await collectEchoes(c, 2);
    expect(seen.echoes).toEqual(["echo:m0", "echo:m1"]);
    expect(await c.closed).toEqual({ code: 4003, reason: "session over" });
  });
});

describe("Gemini Live relay: no reconnect storm (issue 11.7)", () => {
  it("passes a 1007 close to the client with its reason and does not resume", async () => {
    const c = await liveSession("reject", "reject-1");
    expect((await collectEchoes(c, MESSAGES)).echoes).toEqual(expected);
    // The session is resumable (the mock sent handles), yet a close frame is an answer, not a lost connection.
    c.ws.send(turn("bad"));
    expect(await c.closed).toEqual({ code: 1007, reason: "Request contains an invalid argument." });
    const log = await wsMockLog<LiveSessionLog>("live-log", "reject-1", true);
    expect(log.connections).toBe(1);
    expect(log.resumedWith).toEqual([]);
  });

  it("resumes an upstream that drops after every message at most maxResumesPerWindow times, then closes clearly", async () => {
    const maxResumesPerWindow = 3;
    const c = await RelayClient.open("/live/dropeach?tag=dropeach-1", {
      target: { geminiLive: true },
      settings: {
        maxResumesPerWindow,
        resumeWindowMs: 60_000,
        resumeBackoffBaseMs: 20,
        resumeBackoffMaxMs: 50,
      },
    });
    c.ws.send(JSON.stringify({ setup: { model: "models/gemini-live-mock", sessionResumption: {} } }));
    expect(json(await c.next())).toEqual({ setupComplete: {} });
    expect(json(await c.next())).toHaveProperty("sessionResumptionUpdate");
    c.ws.send(turn("m0"));
    const closed = await c.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe(
      `gemini live: upstream lost ${maxResumesPerWindow} times in 60 s, not resuming again`,
    );
    const log = await wsMockLog<LiveSessionLog>("live-log", "dropeach-1");
    // The first connection and one per granted resumption, no more.
    expect(log.connections).toBe(1 + maxResumesPerWindow);
    expect(log.consumed).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  classifyServerMessage,
  type LiveFrame,
  LiveResumption,
  parseLiveMessage,
  rewriteSetupWithHandle,
} from "./live";

const text = (value: unknown): LiveFrame => ({ kind: "text", data: JSON.stringify(value) });
const binary = (value: unknown): LiveFrame => ({
  kind: "binary",
  data: new TextEncoder().encode(JSON.stringify(value)),
});
const SETUP = text({ setup: { model: "models/gemini-live", sessionResumption: { transparent: true } } });
const msg = (n: number) => text({ clientContent: { turns: [{ role: "user", parts: [{ text: `m${n}` }] }] } });
const update = (handle: string, resumable: boolean, index?: number | string) =>
  binary({
    sessionResumptionUpdate: { newHandle: handle, resumable, lastConsumedClientMessageIndex: index },
  });

describe("message parsing", () => {
  it("reads JSON from text and binary frames and classifies server messages", () => {
    expect(classifyServerMessage(parseLiveMessage(binary({ setupComplete: {} })))).toEqual({
      type: "setupComplete",
    });
    expect(classifyServerMessage(parseLiveMessage(text({ goAway: { timeLeft: "10s" } })))).toEqual({
      type: "goAway",
    });
    expect(classifyServerMessage(parseLiveMessage(update("h1", true, "7")))).toEqual({
      type: "resumption",
      update: { handle: "h1", resumable: true, lastConsumedIndex: 7 },
    });
    expect(
      classifyServerMessage(parseLiveMessage({ kind: "binary", data: new Uint8Array([0xff, 0x00]) })),
    ).toEqual({
      type: "other",
    });
    expect(
      classifyServerMessage(
        parseLiveMessage(text({ session_resumption_update: { new_handle: "x", resumable: true } })),
      ),
    ).toEqual({
      type: "resumption",
      update: { handle: "x", resumable: true, lastConsumedIndex: null },
    });
  });

  it("rewrites the setup with the handle, keeping other fields, frame kind and key style", () => {
    const rewritten = rewriteSetupWithHandle(SETUP, "h9");
    expect(rewritten.kind).toBe("text");
    expect(parseLiveMessage(rewritten)).toEqual({
      setup: { model: "models/gemini-live", sessionResumption: { transparent: true, handle: "h9" } },
    });
    const snake = rewriteSetupWithHandle(binary({ setup: { model: "m", session_resumption: {} } }), "h");
    expect(snake.kind).toBe("binary");
    expect(parseLiveMessage(snake)).toEqual({ setup: { model: "m", session_resumption: { handle: "h" } } });
    expect(() => rewriteSetupWithHandle(msg(1), "h")).toThrow(TypeError);
  });
});

describe("LiveResumption", () => {
  it("is not resumable before a resumable handle is known, and keeps the previous handle on resumable=false", () => {
    const live = new LiveResumption();
    expect(live.clientMessage(SETUP)).toBe("send");
    expect(live.canResume).toBe(false);
    live.serverMessage(update("", false));
    expect(live.canResume).toBe(false);
    live.serverMessage(update("h1", true, 0));
    expect(live.handle).toBe("h1");
    live.serverMessage(update("", false));
    expect(live.handle).toBe("h1");
    expect(live.canResume).toBe(true);
  });

  it("hides goAway only when it can resume", () => {
    const live = new LiveResumption();
    live.clientMessage(SETUP);
    expect(live.serverMessage(text({ goAway: {} }))).toEqual({
      deliver: true,
      goAway: true,
      setupComplete: false,
    });
    live.serverMessage(update("h1", true, 0));
    expect(live.serverMessage(text({ goAway: {} }))).toEqual({
      deliver: false,
      goAway: true,
      setupComplete: false,
    });
  });

  it("replays exactly the messages after lastConsumedClientMessageIndex, then the queued ones, and hides the second setupComplete", () => {
    const live = new LiveResumption();
    live.clientMessage(SETUP);
    expect(live.serverMessage(binary({ setupComplete: {} })).deliver).toBe(true);
    for (const n of [1, 2, 3, 4]) expect(live.clientMessage(msg(n))).toBe("send");
    // The server consumed up to index 2 (setup = 0, m1 = 1, m2 = 2).
    live.serverMessage(update("h2", true, 2));
    live.pause();
    expect(live.clientMessage(msg(5))).toBe("queue");
    const setup = live.startResume();
    expect(parseLiveMessage(setup)).toMatchObject({
      setup: { sessionResumption: { handle: "h2", transparent: true } },
    });
    expect(live.clientMessage(msg(6))).toBe("queue");
    const second = live.serverMessage(binary({ setupComplete: {} }));
    expect(second).toEqual({ deliver: false, goAway: false, setupComplete: true });
    expect(live.finishResume()).toEqual([msg(3), msg(4), msg(5), msg(6)]);
    expect(live.resumptions).toBe(1);
    // On the new connection the replayed messages are 1..4; an update at 3 leaves only m6.
    live.serverMessage(update("h3", true, 3));
    live.startResume();
    live.serverMessage(binary({ setupComplete: {} }));
    expect(live.finishResume()).toEqual([msg(6)]);
  });

  it("without an index treats everything sent before the update as consumed", () => {
    const live = new LiveResumption();
    live.clientMessage(SETUP);
    live.clientMessage(msg(1));
    live.serverMessage(update("h1", true));
    live.clientMessage(msg(2));
    live.startResume();
    expect(live.finishResume()).toEqual([msg(2)]);
  });

  it("disables resumption when the replay buffer overflows, and re-enables once the lost message is consumed", () => {
    const live = new LiveResumption({ maxReplayBytes: 200 });
    live.clientMessage(SETUP);
    live.serverMessage(update("h1", true, 0));
    const big = text({ realtimeInput: { data: "x".repeat(20) } });
    live.clientMessage(big); // index 1
    live.clientMessage(big); // index 2: over the bound, index 1 is dropped
    expect(live.canResume).toBe(false);
    expect(live.bufferedBytes).toBeLessThanOrEqual(200);
    live.serverMessage(update("h2", true, 0));
    expect(live.canResume).toBe(false);
    live.serverMessage(update("h3", true, 1));
    expect(live.canResume).toBe(true);
    expect(() => new LiveResumption().startResume()).toThrow();
  });
});

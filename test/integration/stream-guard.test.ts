/**
 * The stream integrity guard end to end inside workerd (issue 12): the real Worker entry point, the
 * real socket and fetch transports, a real TCP upstream (`sse-llm.mock.ts`) that cuts, resets and
 * stalls, and the `TargetHealth` Durable Object behind `/health`.
 */
import { describe, expect, it } from "vitest";
import {
  hexPrefix,
  OPENAI_DONE,
  openaiChunk,
  openaiError,
  openaiStream,
  ssePlay,
} from "../mocks/sse-llm-script";
import {
  dataLines,
  type GuardSetup,
  healthOf,
  observed,
  openaiText,
  post,
  scenarioId,
  script,
} from "./stream-guard-harness";

const ANSWER = "The quick brown fox jumps over the lazy dog. Überraschung! 😀 done";
const CHAT = { model: "m", stream: true, messages: [{ role: "user", content: "hi" }] };
const WHOLE = openaiStream(ANSWER);
/** Role chunk and the first three words: content reached the client. */
const START = WHOLE.slice(0, 4);

function lastEvent(text: string): { error?: { message: string; type: string; code: string } } {
  const data = dataLines(text);
  return JSON.parse(data.at(-1) ?? "null");
}

/** The client saw an explicit error at the end, never a `[DONE]`. */
function expectErrorEnd(text: string, code: string): void {
  expect(dataLines(text)).not.toContain("[DONE]");
  const last = lastEvent(text);
  expect(last.error).toMatchObject({ type: "upstream_error", code });
  expect(text.endsWith("\n\n")).toBe(true);
}

describe.each(["socket", "fetch"] as const)("stream guard over %s (OpenAI chat completions)", (transport) => {
  const setup = (label: string, extra: Partial<GuardSetup> = {}): GuardSetup => ({
    scenario: scenarioId(`${label}-${transport}`),
    transport,
    ...extra,
  });

  it("passes a whole stream through byte for byte and marks it guarded", async () => {
    const s = setup("whole");
    await script(s.scenario, "a", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/chat/completions", CHAT);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-stream-guard")).toBe("openai-chat");
    // Browser code may read it.
    expect(response.headers.get("access-control-expose-headers")).toContain("x-proxy-stream-guard");
    expect(text).toBe(WHOLE.join(""));
    expect((await healthOf(s))[0]).toMatchObject({ requests: 1, successes: 1, failures: 0 });
  });

  it("a clean close without [DONE] ends with an in-band error, charged to the target", async () => {
    const s = setup("noterm");
    await script(s.scenario, "a", { queue: [ssePlay(START)] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expect(text.startsWith(START.join(""))).toBe(true);
    expectErrorEnd(text, "stream_truncated");
    const [a] = await healthOf(s);
    expect(a).toMatchObject({ requests: 1, failures: 1, last_error: { kind: "stream_cut" } });
  });

  it("a cut inside an SSE event drops the half event", async () => {
    const s = setup("midevent");
    const next = WHOLE[4]!;
    await script(s.scenario, "a", { queue: [ssePlay([...START, next.slice(0, 30)])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    // The client got the whole events before the cut, then directly the error event.
    expect(text.slice(START.join("").length).startsWith('data: {"error"')).toBe(true);
    expect(text.startsWith(START.join(""))).toBe(true);
    expectErrorEnd(text, "stream_truncated");
  });

  it("a cut inside a multi-byte character never reaches the client as a broken character", async () => {
    const s = setup("midchar");
    const emoji = openaiChunk({ content: "😀 fin" });
    const cutAt = new TextEncoder().encode(emoji).indexOf(0xf0) + 2;
    await script(s.scenario, "a", {
      queue: [ssePlay(START, [{ hex: hexPrefix(emoji, cutAt) }, { end: true }])],
    });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expect(text).not.toContain("\uFFFD");
    expect(openaiText(text)).toBe("The quick brown ");
    expectErrorEnd(text, "stream_truncated");
  });

  it("a connection reset after content ends with an in-band error", async () => {
    const s = setup("reset");
    await script(s.scenario, "a", { queue: [ssePlay(START, [{ delayMs: 20 }, { reset: true }])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expect(openaiText(text)).toBe("The quick brown ");
    expectErrorEnd(text, "stream_truncated");
    expect((await healthOf(s))[0]?.last_error?.kind).toBe("stream_cut");
  });

  it("a FIN in the middle of the body ends with an in-band error", async () => {
    const s = setup("fin");
    await script(s.scenario, "a", { queue: [ssePlay(START, [{ destroy: true }])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expectErrorEnd(text, "stream_truncated");
  });

  it("a stall past the idle bound ends with a stall error", async () => {
    const s = setup("stall", { streamGuard: { idleMs: 300 } });
    await script(s.scenario, "a", { queue: [ssePlay(START, [{ stall: true }])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expect(openaiText(text)).toBe("The quick brown ");
    expectErrorEnd(text, "stream_stalled");
    expect((await healthOf(s))[0]?.last_error?.kind).toBe("stream_cut");
  });

  it("an in-band error after content reaches the client and is charged to the target", async () => {
    const s = setup("errafter");
    await script(s.scenario, "a", { queue: [ssePlay([...START, openaiError("model overloaded")])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expect(text).toContain(openaiError("model overloaded"));
    expect(dataLines(text)).not.toContain("[DONE]");
    expect((await healthOf(s))[0]).toMatchObject({ failures: 1, last_error: { kind: "stream_error" } });
  });

  it("[DONE] without a finish_reason is replaced by an error", async () => {
    const s = setup("earlydone");
    await script(s.scenario, "a", { queue: [ssePlay([...START, OPENAI_DONE])] });
    const { text } = await post(s, "/v1/chat/completions", CHAT);
    expectErrorEnd(text, "stream_truncated");
  });

  it("a single target is not held: an error before content reaches the client in-band", async () => {
    const s = setup("single");
    await script(s.scenario, "a", { queue: [ssePlay([START[0]!, openaiError("overloaded")])] });
    const { response, text } = await post(s, "/v1/chat/completions", CHAT);
    expect(response.status).toBe(200);
    expect(dataLines(text)).not.toContain("[DONE]");
    expect(text).toContain("overloaded");
  });

  it.each([
    ["an in-band error before content", ssePlay([START[0]!, openaiError("overloaded")]), "stream_error"],
    ["an empty stream", ssePlay([]), "stream_cut"],
    ["a stream that ends after its role chunk", ssePlay([START[0]!]), "stream_cut"],
    ["a reset before content", ssePlay([START[0]!], [{ reset: true }]), "stream_cut"],
    ["a stall before content", ssePlay([START[0]!], [{ stall: true }]), "stream_cut"],
  ])("%s fails over invisibly to the second target, which is charged nothing", async (_n, first, kind) => {
    const s = setup("failover", { targets: ["a", "b"], streamGuard: { holdMs: 400 } });
    await script(s.scenario, "a", { queue: [first] });
    await script(s.scenario, "b", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/chat/completions", CHAT);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-attempts")).toBe("2");
    expect(text).toBe(WHOLE.join(""));
    const seen = await observed(s.scenario);
    expect([seen.a?.requests, seen.b?.requests]).toEqual([1, 1]);
    // The same request body reached both targets.
    expect(seen.b?.bodies[0]).toBe(seen.a?.bodies[0]);
    const [a, b] = await healthOf(s);
    expect(a).toMatchObject({ requests: 1, failures: 1, successes: 0, last_error: { kind } });
    expect(b).toMatchObject({ requests: 1, failures: 0, successes: 1 });
  });

  it("a body too large to buffer is guarded by the answer's text/event-stream type", async () => {
    const s = setup("unbuffered", { health: { replayBodyLimitBytes: 16 } });
    await script(s.scenario, "a", { queue: [ssePlay(START)] });
    const { response, text } = await post(s, "/v1/chat/completions", CHAT);
    expect(response.headers.get("x-proxy-stream-guard")).toBe("openai-chat");
    expectErrorEnd(text, "stream_truncated");
    // It streamed through once: the whole body still reached the upstream.
    expect(JSON.parse((await observed(s.scenario)).a!.bodies[0]!)).toEqual(CHAT);
  });

  it("a non-streaming request is not guarded", async () => {
    const s = setup("plain");
    const json = JSON.stringify({ id: "x", object: "chat.completion", choices: [] });
    await script(s.scenario, "a", {
      queue: [{ status: 200, headers: { "content-type": "application/json" }, steps: [{ write: json }] }],
    });
    const { response, text } = await post(s, "/v1/chat/completions", { ...CHAT, stream: false });
    expect(response.headers.get("x-proxy-stream-guard")).toBeNull();
    expect(text).toBe(json);
  });
});

/**
 * The stream guard on Anthropic Messages and OpenAI Responses streams (issue 12), over both transports:
 * what a cut, a stall and an in-band error look like to the client in each format, and invisible
 * failover before content.
 */
import { describe, expect, it } from "vitest";
import {
  anthropicError,
  anthropicStream,
  hexPrefix,
  responsesEvent,
  responsesStream,
  ssePlay,
} from "../mocks/sse-llm-script";
import { type GuardSetup, healthOf, observed, post, scenarioId, script } from "./stream-guard-harness";

const ANSWER = "Bonjour tout le monde, ceci est une réponse complète 😀";
const MESSAGES = {
  model: "claude",
  max_tokens: 64,
  stream: true,
  messages: [{ role: "user", content: "hi" }],
};
const RESPONSES = { model: "gpt", stream: true, input: "hi" };

interface SseFrame {
  event: string | null;
  data: string;
}

function frames(text: string): SseFrame[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? null;
      const data = lines
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      return { event, data };
    });
}

describe.each(["socket", "fetch"] as const)("stream guard over %s: Anthropic Messages", (transport) => {
  const setup = (label: string, extra: Partial<GuardSetup> = {}): GuardSetup => ({
    scenario: scenarioId(`anth-${label}-${transport}`),
    transport,
    ...extra,
  });
  const WHOLE = anthropicStream(ANSWER);
  const START = WHOLE.slice(0, 6);

  it("passes a whole stream through unchanged", async () => {
    const s = setup("whole");
    await script(s.scenario, "a", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/messages", MESSAGES);
    expect(response.headers.get("x-proxy-stream-guard")).toBe("anthropic-messages");
    expect(text).toBe(WHOLE.join(""));
  });

  it.each([
    ["a clean close without message_stop", ssePlay(START), "api_error"],
    [
      "a cut inside an event",
      ssePlay(START, [{ write: WHOLE[6]!.slice(0, 25) }, { end: true }]),
      "api_error",
    ],
    [
      "a cut inside a character",
      ssePlay(START, [{ hex: hexPrefix(WHOLE.at(-4)!, 120) }, { end: true }]),
      "api_error",
    ],
    ["a reset", ssePlay(START, [{ delayMs: 20 }, { reset: true }]), "api_error"],
    ["a stall", ssePlay(START, [{ stall: true }]), "timeout_error"],
  ])("%s ends with event: error, never message_stop", async (_name, play, type) => {
    const s = setup("cut", { streamGuard: { idleMs: 300 } });
    await script(s.scenario, "a", { queue: [play] });
    const { text } = await post(s, "/v1/messages", MESSAGES);
    expect(text.startsWith(START.join(""))).toBe(true);
    const all = frames(text);
    expect(all.map((f) => f.event)).not.toContain("message_stop");
    const last = all.at(-1)!;
    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toMatchObject({ type: "error", error: { type } });
    expect(text).not.toContain("\uFFFD");
    expect((await healthOf(s))[0]).toMatchObject({ failures: 1, last_error: { kind: "stream_cut" } });
  });

  it("an overloaded error before content fails over invisibly; the first target is charged", async () => {
    const s = setup("failover", { targets: ["a", "b"] });
    const overloaded = ssePlay([WHOLE[0]!, anthropicError("overloaded_error", "Overloaded")]);
    await script(s.scenario, "a", { queue: [overloaded] });
    await script(s.scenario, "b", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/messages", MESSAGES);
    expect(response.headers.get("x-proxy-attempts")).toBe("2");
    expect(text).toBe(WHOLE.join(""));
    const seen = await observed(s.scenario);
    expect([seen.a?.requests, seen.b?.requests]).toEqual([1, 1]);
    const [a, b] = await healthOf(s);
    expect(a).toMatchObject({ failures: 1, last_error: { kind: "stream_error" } });
    expect(b).toMatchObject({ successes: 1, failures: 0 });
  });
});

describe.each(["socket", "fetch"] as const)("stream guard over %s: OpenAI Responses", (transport) => {
  const setup = (label: string, extra: Partial<GuardSetup> = {}): GuardSetup => ({
    scenario: scenarioId(`resp-${label}-${transport}`),
    transport,
    ...extra,
  });
  const WHOLE = responsesStream(ANSWER);
  const START = WHOLE.slice(0, 4);

  it("passes a whole stream through unchanged", async () => {
    const s = setup("whole");
    await script(s.scenario, "a", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/responses", RESPONSES);
    expect(response.headers.get("x-proxy-stream-guard")).toBe("openai-responses");
    expect(text).toBe(WHOLE.join(""));
  });

  it("a stream without response.completed ends with an error event", async () => {
    const s = setup("cut");
    await script(s.scenario, "a", { queue: [ssePlay(START)] });
    const { text } = await post(s, "/v1/responses", RESPONSES);
    expect(text.startsWith(START.join(""))).toBe(true);
    const last = frames(text).at(-1)!;
    expect(JSON.parse(last.data)).toMatchObject({ error: { code: "stream_truncated" } });
    expect(frames(text).map((f) => f.event)).not.toContain("response.completed");
  });

  it("response.failed before any output fails over invisibly", async () => {
    const s = setup("failover", { targets: ["a", "b"] });
    const failed = ssePlay([
      WHOLE[0]!,
      responsesEvent("response.failed", { response: { status: "failed" } }),
    ]);
    await script(s.scenario, "a", { queue: [failed] });
    await script(s.scenario, "b", { queue: [ssePlay(WHOLE)] });
    const { response, text } = await post(s, "/v1/responses", RESPONSES);
    expect(response.headers.get("x-proxy-attempts")).toBe("2");
    expect(text).toBe(WHOLE.join(""));
    expect((await healthOf(s))[0]).toMatchObject({ failures: 1, last_error: { kind: "stream_error" } });
  });
});

describe("stream guard on legacy completions", () => {
  it("guards …/completions streams like chat completions", async () => {
    const s: GuardSetup = { scenario: scenarioId("legacy"), transport: "socket" };
    const chunk = (text: string, finish: string | null) =>
      `data: ${JSON.stringify({ id: "c", object: "text_completion", choices: [{ index: 0, text, finish_reason: finish }] })}\n\n`;
    await script(s.scenario, "a", { queue: [ssePlay([chunk("Once ", null), chunk("upon", null)])] });
    const { response, text } = await post(s, "/v1/completions", { model: "m", prompt: "x", stream: true });
    expect(response.headers.get("x-proxy-stream-guard")).toBe("openai-chat");
    expect(text.startsWith(chunk("Once ", null) + chunk("upon", null))).toBe(true);
    expect(text).toContain('"code":"stream_truncated"');
  });
});

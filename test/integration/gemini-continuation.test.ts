/**
 * Gemini anti-truncation against the scriptable Gemini mock (the mock continues from whatever partial text the
 * continuation request carries, so a correct final answer proves what was fed back).
 */
import { describe, expect, it } from "vitest";
import {
  ANSWER,
  answerText,
  callGemini,
  finishReasons,
  prompt,
  readSse,
  requests,
  scenario,
  ssePath,
  THOUGHT,
  thoughtFree,
  thoughtText,
} from "./gemini-harness";

const THINKING = { generationConfig: { thinkingConfig: { includeThoughts: true } } };

async function run(spec: Parameters<typeof scenario>[0], body: object = prompt()) {
  const id = await scenario(spec);
  const { response, settled } = await callGemini(ssePath(id), body);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  expect(response.headers.get("x-proxy-session-id")).toMatch(/^[0-9a-f]{64}$/);
  const { events, raw } = await readSse(response);
  await settled;
  const reqs = (await requests(id)).filter((r) => r.attempt !== null);
  // Only `data:` lines and blank lines: no `event:` lines, no comments.
  expect(raw.split("\r\n").every((l) => l === "" || l.startsWith("data: "))).toBe(true);
  expect(thoughtFree(reqs)).toBe(true);
  return { id, events, reqs };
}

describe("Gemini anti-truncation (SSE)", () => {
  it("forwards a clean stream unchanged in content", async () => {
    const { events, reqs, id } = await run(
      { answer: ANSWER, thought: THOUGHT },
      { ...prompt(), ...THINKING },
    );
    expect(answerText(events)).toBe(ANSWER);
    expect(thoughtText(events)).toBe(THOUGHT);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(reqs).toHaveLength(1);
    expect(events.every((e) => e.responseId === `mock-${id}-1`)).toBe(true);
  });

  it.each([
    ["after the first chunk", { kind: "cut", afterChars: 16 }],
    ["mid-answer", { kind: "cut", afterChars: 150 }],
    ["inside an SSE event", { kind: "cut-in-event", afterChars: 64 }],
    ["on a socket reset", { kind: "reset", afterChars: 80 }],
    ["on a stall (idle timeout)", { kind: "stall", afterChars: 48 }],
    ["on a mid-stream 503 data event", { kind: "error-event", afterChars: 48 }],
    ["on a raw multi-line 503 object", { kind: "error-event", afterChars: 48, errorFormat: "raw" }],
    ["on finishReason OTHER", { kind: "finish", finishReason: "OTHER", afterChars: 32 }],
  ] as const)("continues a stream cut %s", async (_name, attempt) => {
    const { events, reqs, id } = await run(
      { answer: ANSWER, thought: THOUGHT, attempts: [attempt] },
      { ...prompt(), ...THINKING },
    );
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(reqs).toHaveLength(2);
    // Thoughts are shown once: the continuation's thoughts are not re-shown after the answer started.
    expect(thoughtText(events)).toBe(THOUGHT);
    expect(reqs[1]?.continuedFrom).toBeGreaterThan(0);
    // responseId/modelVersion pinned to the first attempt.
    expect(events.every((e) => e.responseId === `mock-${id}-1`)).toBe(true);
    const last = events.at(-1);
    expect(last?.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
  });

  it("continues after a cut inside a multi-byte character", async () => {
    const answer =
      "从前，在海边一个安静的村庄里，住着一位名叫伊莱亚斯的老钟表匠。每天早上他都会打开店门，给每一座钟上弦。😀结束。";
    const { events, reqs } = await run({
      answer,
      splitWriteBytes: 5,
      attempts: [{ kind: "cut-in-char", afterChars: 20 }],
    });
    expect(answerText(events)).toBe(answer);
    expect(reqs).toHaveLength(2);
    // The Chinese conversation gets the Chinese continuation prompt.
    const lastTurn = JSON.stringify(reqs[1]?.body.contents?.at(-1));
    expect(lastTurn).toMatch(/[\u4e00-\u9fff]/);
  });

  it("restarts, not continues, after a cut mid-thought", async () => {
    const { events, reqs } = await run(
      { answer: ANSWER, thought: THOUGHT, attempts: [{ kind: "cut", afterThoughtChars: 20 }] },
      { ...prompt(), ...THINKING },
    );
    expect(answerText(events)).toBe(ANSWER);
    expect(reqs).toHaveLength(2);
    expect(reqs[1]?.continuedFrom).toBe(0);
    expect(reqs[1]?.body.contents).toHaveLength(1);
  });

  it.each([
    ["empty STOP", { kind: "empty-stop" }],
    ["thought-only STOP", { kind: "thought-only-stop" }],
  ] as const)("retries an %s from the start", async (_name, attempt) => {
    const { events, reqs } = await run({ answer: ANSWER, attempts: [attempt] }, { ...prompt(), ...THINKING });
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(reqs).toHaveLength(2);
    expect(reqs[1]?.body.contents).toHaveLength(1);
  });

  it.each([
    ["repeats the tail", { kind: "complete", repeatTail: 12 }],
    ["adds a preamble", { kind: "complete", preamble: "Sure, here's the continuation: " }],
    ["restarts identically", { kind: "complete", replay: true }],
  ] as const)("aligns a continuation that %s", async (_name, second) => {
    const { events, reqs } = await run({
      answer: ANSWER,
      attempts: [{ kind: "cut", afterChars: 100 }, second],
    });
    expect(answerText(events)).toBe(ANSWER);
    expect(reqs).toHaveLength(2);
  });

  it("counts a rewriting continuation as failed and continues again", async () => {
    const { events, reqs } = await run({
      answer: ANSWER,
      attempts: [
        { kind: "cut", afterChars: 100 },
        {
          kind: "complete",
          rewriteText:
            "Once upon a time, in a small town far from the sea, a young baker named Mira opened her shop.",
        },
        { kind: "complete" },
      ],
    });
    expect(answerText(events)).toBe(ANSWER);
    expect(reqs).toHaveLength(3);
  });

  it("survives three cuts in a row", async () => {
    const { events, reqs } = await run({
      answer: ANSWER,
      thought: THOUGHT,
      attempts: [
        { kind: "cut", afterChars: 40 },
        { kind: "reset", afterChars: 40 },
        { kind: "error-event", afterChars: 40 },
        { kind: "complete" },
      ],
    });
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(reqs).toHaveLength(4);
    expect(events.at(-1)?.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
  });

  it("drops a continuation's repeat of the tail when that continuation is cut inside the repeat", async () => {
    // Soak stream 3 (seed 1): the half-repeated tail used to reach the client as new text and was then fed back.
    const { events, reqs } = await run({
      answer: ANSWER,
      chunkChars: 7,
      attempts: [
        { kind: "cut", afterChars: 119 },
        { kind: "cut", afterChars: 14, repeatTail: 28 }, // half of the repeat, then cut
        { kind: "cut", afterChars: 40, repeatTail: 28 }, // the whole repeat and 12 new characters
        { kind: "complete", repeatTail: 20 },
      ],
    });
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(reqs.map((r) => r.continuedFrom)).toEqual([0, 119, 119, 131]);
    expect(reqs[2]?.partialText).toBe(ANSWER.slice(0, 119));
  });

  it("passes a safety block after partial output through, without retrying", async () => {
    const { events, reqs } = await run({ answer: ANSWER, attempts: [{ kind: "safety", afterChars: 48 }] });
    expect(reqs).toHaveLength(1);
    expect(finishReasons(events)).toEqual(["SAFETY"]);
    expect(answerText(events)).toBe(ANSWER.slice(0, 48));
  });

  it("gives up on a stream that never completes: bounded attempts and an explicit OTHER", async () => {
    const { events, reqs } = await run({ answer: ANSWER, defaultAttempt: { kind: "cut", afterChars: 16 } });
    expect(reqs).toHaveLength(5); // the first attempt + 4 continuations
    expect(finishReasons(events)).toEqual(["OTHER"]);
    expect(events.at(-1)?.candidates?.[0]?.finishMessage).toMatch(/incomplete/);
    expect(ANSWER.startsWith(answerText(events))).toBe(true);
  });

  it("holds a function call until its attempt finishes and emits it once", async () => {
    const { events, reqs } = await run({
      answer: "Let me look that up for you.",
      functionCall: { name: "lookup", args: { q: "clocks" } },
      attempts: [{ kind: "cut", afterChars: 10 }],
    });
    const calls = events
      .flatMap((e) => e.candidates?.[0]?.content?.parts ?? [])
      .filter((p) => p.functionCall);
    expect(calls).toEqual([{ functionCall: { name: "lookup", args: { q: "clocks" } } }]);
    expect(events.at(-1)?.candidates?.[0]?.content?.parts.some((p) => p.functionCall)).toBe(true);
    expect(reqs).toHaveLength(2);
  });

  it("passes a blocked prompt through without retrying", async () => {
    const { events, reqs } = await run({ answer: ANSWER, attempts: [{ kind: "blocked-prompt" }] });
    expect(reqs).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0]?.promptFeedback?.blockReason).toBe("SAFETY");
  });

  it("passes MAX_TOKENS through and reduces maxOutputTokens on continuations", async () => {
    const body = { ...prompt(), generationConfig: { maxOutputTokens: 4000 } };
    const { events, reqs } = await run(
      {
        answer: ANSWER,
        attempts: [
          { kind: "cut", afterChars: 200 },
          { kind: "max-tokens", afterChars: 40 },
        ],
      },
      body,
    );
    expect(finishReasons(events)).toEqual(["MAX_TOKENS"]);
    expect(reqs).toHaveLength(2);
    const budgets = reqs.map((r) => (r as unknown as { maxOutputTokens: number }).maxOutputTokens);
    expect(budgets[0]).toBe(4000);
    expect(budgets[1]).toBeLessThan(4000);
  });
});

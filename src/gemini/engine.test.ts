import { describe, expect, it } from "vitest";
import { ContinuationEngine } from "./engine";
import { chunk, fakeKit, type ScriptStep, scriptedUpstream, VirtualClock } from "./engine-testkit";
import type { EngineBounds, EngineEvent, EngineSummary } from "./engine-types";
import type { GenerateContentRequest, GenerateContentResponse, RetryPrompts } from "./types";

const prompts: RetryPrompts = { cn: "继续", en: "continue", ja: "続けて", ko: "계속" };
const request: GenerateContentRequest = {
  contents: [{ role: "user", parts: [{ text: "Tell me a story" }] }],
};

interface Run {
  events: EngineEvent[];
  chunks: GenerateContentResponse[];
  summary: EngineSummary;
  calls: ReturnType<typeof scriptedUpstream>["calls"];
  clock: VirtualClock;
}

async function run(
  steps: ScriptStep[],
  bounds: Partial<EngineBounds> = {},
  signal?: AbortSignal,
): Promise<Run> {
  const clock = new VirtualClock();
  const up = scriptedUpstream(steps);
  const engine = new ContinuationEngine({
    request,
    runAttempt: up.run,
    kit: fakeKit,
    prompts,
    clock,
    bounds: { idleTimeoutMs: 1_000, firstByteTimeoutMs: 5_000, ...bounds },
    ...(signal ? { signal } : {}),
  });
  const events: EngineEvent[] = [];
  const summary = await clock.drive(
    (async () => {
      const gen = engine.run();
      for (;;) {
        const n = await gen.next();
        if (n.done) return n.value;
        events.push(n.value);
      }
    })(),
  );
  const chunks = events.flatMap((e) => (e.type === "chunk" ? [e.chunk] : []));
  return { events, chunks, summary, calls: up.calls, clock };
}

const answerOf = (chunks: GenerateContentResponse[]) =>
  chunks
    .flatMap((c) => c.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => !p.thought)
    .map((p) => p.text ?? "")
    .join("");
const thoughtsOf = (chunks: GenerateContentResponse[]) =>
  chunks
    .flatMap((c) => c.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => p.thought)
    .map((p) => p.text ?? "")
    .join("");
const finishReasons = (chunks: GenerateContentResponse[]) =>
  chunks.flatMap((c) => (c.candidates?.[0]?.finishReason ? [c.candidates[0].finishReason] : []));
const requestText = (body: GenerateContentRequest) => JSON.stringify(body);

const ids = { responseId: "resp-1", modelVersion: "gemini-x-001" };
const usage = (p: number, c: number) => ({
  usageMetadata: { promptTokenCount: p, candidatesTokenCount: c, totalTokenCount: p + c },
});

describe("ContinuationEngine", () => {
  it("forwards a clean stream with one final finishReason", async () => {
    const r = await run([
      {
        sse: [
          chunk([{ th: "hmm" }], {}, ids),
          chunk([{ t: "Once upon" }], {}, ids),
          chunk([{ t: " a time." }], { finishReason: "STOP" }, { ...ids, ...usage(5, 4) }),
        ],
      },
    ]);
    expect(r.summary).toMatchObject({ result: "complete", continuations: 0, recovered: false });
    expect(answerOf(r.chunks)).toBe("Once upon a time.");
    expect(thoughtsOf(r.chunks)).toBe("hmm");
    expect(finishReasons(r.chunks)).toEqual(["STOP"]);
    expect(r.chunks.at(-1)?.usageMetadata).toEqual({
      promptTokenCount: 5,
      candidatesTokenCount: 4,
      totalTokenCount: 9,
    });
    expect(r.chunks.every((c) => c.responseId === "resp-1" && c.modelVersion === "gemini-x-001")).toBe(true);
  });

  it("continues a stream cut without finishReason, feeding back only the answer text", async () => {
    const r = await run([
      {
        sse: [
          chunk([{ th: "SECRET THOUGHT" }], {}, ids),
          chunk([{ t: "Once upon" }], {}, { ...ids, ...usage(5, 2) }),
        ],
      },
      {
        sse: [
          chunk([{ th: "more thinking" }], {}, { responseId: "resp-2", modelVersion: "other" }),
          chunk([{ t: "Sure:  a time." }], { finishReason: "STOP" }, usage(9, 3)),
        ],
      },
    ]);
    expect(r.summary).toMatchObject({
      result: "complete",
      continuations: 1,
      recovered: true,
      removedChars: 6,
    });
    expect(answerOf(r.chunks)).toBe("Once upon a time.");
    expect(thoughtsOf(r.chunks)).toBe("SECRET THOUGHT");
    expect(finishReasons(r.chunks)).toEqual(["STOP"]);
    expect(r.chunks.every((c) => c.responseId === "resp-1" && c.modelVersion === "gemini-x-001")).toBe(true);
    expect(r.chunks.at(-1)?.usageMetadata).toEqual({
      promptTokenCount: 14,
      candidatesTokenCount: 5,
      totalTokenCount: 19,
    });
    const cont = r.calls[1]?.body;
    expect(cont?.contents.at(-2)).toEqual({ role: "model", parts: [{ text: "Once upon" }] });
    expect(requestText(cont as GenerateContentRequest)).not.toContain("SECRET THOUGHT");
  });

  it("never forwards the truncated attempt's OTHER finishReason", async () => {
    const r = await run([
      { sse: [chunk([{ t: "Part one" }]), chunk([{ t: ", more" }], { finishReason: "OTHER" })] },
      { sse: [chunk([{ t: " and the end." }], { finishReason: "STOP" })] },
    ]);
    expect(answerOf(r.chunks)).toBe("Part one, more and the end.");
    expect(finishReasons(r.chunks)).toEqual(["STOP"]);
  });

  it("restarts (never continues) when only thoughts were produced", async () => {
    const r = await run([
      { sse: [chunk([{ th: "thinking..." }]), chunk([], { finishReason: "STOP" })] },
      { sse: [chunk([{ th: "again" }]), chunk([{ t: "Answer." }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary.attempts.map((a) => [a.mode, a.outcome])).toEqual([
      ["initial", "thought_only"],
      ["restart", "complete"],
    ]);
    expect(r.calls[1]?.body).toEqual(request);
    expect(answerOf(r.chunks)).toBe("Answer.");
    expect(thoughtsOf(r.chunks)).toBe("thinking...again");
  });

  it("restarts after a cut mid-thought", async () => {
    const r = await run([
      { sse: [chunk([{ th: "deep" }]), "reset"] },
      { sse: [chunk([{ t: "Done." }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary.attempts.map((a) => [a.mode, a.reason])).toEqual([
      ["initial", "read_error"],
      ["restart", "STOP"],
    ]);
    expect(answerOf(r.chunks)).toBe("Done.");
  });

  it("retries an empty STOP", async () => {
    const r = await run([
      { sse: [chunk([], { finishReason: "STOP" })] },
      { sse: [chunk([{ t: "Hi." }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary.attempts.map((a) => a.outcome)).toEqual(["empty", "complete"]);
    expect(answerOf(r.chunks)).toBe("Hi.");
  });

  it("continues after a mid-stream 503 error object, after a backoff", async () => {
    const r = await run(
      [
        {
          sse: [
            chunk([{ t: "Alpha " }]),
            {
              raw: '{\n  "error": {\n    "code": 503,\n    "message": "overloaded",\n    "status": "UNAVAILABLE"\n  }\n}\n',
            },
          ],
        },
        { sse: [chunk([{ t: "beta." }], { finishReason: "STOP" })] },
      ],
      { serverErrorBaseDelayMs: 300 },
    );
    expect(answerOf(r.chunks)).toBe("Alpha beta.");
    expect(r.summary.attempts[0]?.reason).toBe("stream_error_503");
    expect(r.clock.now()).toBeGreaterThanOrEqual(300);
  });

  it("continues after an idle stall, aborting the stalled attempt", async () => {
    const r = await run([
      { sse: [chunk([{ t: "Slow " }]), "stall"] },
      { sse: [chunk([{ t: "finish." }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary.attempts[0]?.reason).toBe("idle_timeout");
    expect(r.calls[0]?.signal.aborted).toBe(true);
    expect(answerOf(r.chunks)).toBe("Slow finish.");
  });

  it("gives up on a stream that never completes: bounded continuations and an honest OTHER", async () => {
    const r = await run([{ sse: [chunk([{ t: "x" }])] }], { maxContinuations: 3 });
    expect(r.calls).toHaveLength(4);
    expect(r.summary).toMatchObject({ result: "failed", continuations: 3 });
    const last = r.chunks.at(-1)?.candidates?.[0];
    expect(last?.finishReason).toBe("OTHER");
    expect(last?.finishMessage).toMatch(/incomplete after 4 attempt/);
    expect(finishReasons(r.chunks)).toEqual(["OTHER"]);
  });

  it("passes a block after partial output through and never retries it", async () => {
    const r = await run([
      {
        sse: [
          chunk([{ t: "Some text" }]),
          chunk([], { finishReason: "SAFETY", safetyRatings: [{ category: "X" }] }),
        ],
      },
    ]);
    expect(r.calls).toHaveLength(1);
    expect(r.summary.result).toBe("blocked");
    expect(r.chunks.at(-1)?.candidates?.[0]).toMatchObject({
      finishReason: "SAFETY",
      safetyRatings: [{ category: "X" }],
    });
  });

  it("passes a prompt block through", async () => {
    const r = await run([{ sse: [{ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, ...ids }] }]);
    expect(r.calls).toHaveLength(1);
    expect(r.chunks).toEqual([{ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, ...ids }]);
  });

  it.each([400, 401, 404])("passes an initial %i through unchanged", async (status) => {
    const body = JSON.stringify({ error: { code: status, message: "nope", status: "X" } });
    const r = await run([{ status, body, headers: { "content-type": "application/json; charset=UTF-8" } }]);
    expect(r.calls).toHaveLength(1);
    expect(r.events).toEqual([
      {
        type: "http_error",
        status,
        body,
        contentType: "application/json; charset=UTF-8",
        passthrough: true,
        reason: `upstream_${status}`,
      },
    ]);
  });

  it("retries a 503 before any byte, then succeeds", async () => {
    const r = await run([
      { status: 503, body: "{}" },
      { sse: [chunk([{ t: "ok" }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary).toMatchObject({ result: "complete", recovered: true });
    expect(r.summary.attempts.map((a) => a.mode)).toEqual(["initial", "retry"]);
    expect(r.calls[1]?.body).toEqual(request);
  });

  it("honours RetryInfo on a 429", async () => {
    const body = JSON.stringify({
      error: {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message: "slow down",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }],
      },
    });
    const r = await run([{ status: 429, body }, { sse: [chunk([{ t: "ok" }], { finishReason: "STOP" })] }]);
    expect(r.summary.result).toBe("complete");
    expect(r.clock.now()).toBeGreaterThanOrEqual(7_000);
  });

  it("does not wait for a 429 longer than the cap: passes it through", async () => {
    const r = await run([{ status: 429, body: "{}", headers: { "retry-after": "120" } }], {
      rateLimitMaxDelayMs: 10_000,
    });
    expect(r.calls).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      type: "http_error",
      status: 429,
      passthrough: true,
      retryAfter: "120",
    });
  });

  it("answers a Google-format 502 when every attempt fails before any byte", async () => {
    const r = await run(["connect_error"], { maxAttempts: 3 });
    expect(r.calls).toHaveLength(3);
    const ev = r.events[0];
    expect(ev).toMatchObject({ type: "http_error", status: 502, passthrough: false });
    expect(JSON.parse(ev?.type === "http_error" ? ev.body : "")).toMatchObject({
      error: { code: 502, status: "UNAVAILABLE" },
    });
  });

  it("holds a function call until its attempt finishes; a cut attempt's call is dropped", async () => {
    const r = await run([
      { sse: [chunk([{ t: "Let me check." }]), chunk([{ fc: "lookup" }])] },
      { sse: [chunk([{ fc: "lookup" }]), chunk([], { finishReason: "STOP" })] },
    ]);
    const calls = r.chunks
      .flatMap((c) => c.candidates?.[0]?.content?.parts ?? [])
      .filter((p) => p.functionCall);
    expect(calls).toHaveLength(1);
    expect(r.chunks.at(-1)?.candidates?.[0]?.content?.parts[0]?.functionCall?.name).toBe("lookup");
  });

  it("counts a rewriting continuation as failed and tries again", async () => {
    const r = await run([
      { sse: [chunk([{ t: "Beginning " }])] },
      { sse: [chunk([{ t: "REWRITE of everything" }], { finishReason: "STOP" })] },
      { sse: [chunk([{ t: "the end." }], { finishReason: "STOP" })] },
    ]);
    expect(r.summary.attempts.map((a) => a.outcome)).toEqual(["truncated", "rewrite", "complete"]);
    expect(answerOf(r.chunks)).toBe("Beginning the end.");
  });

  it("passes MAX_TOKENS through", async () => {
    const r = await run([{ sse: [chunk([{ t: "long" }], { finishReason: "MAX_TOKENS" })] }]);
    expect(r.summary.result).toBe("max_tokens");
    expect(finishReasons(r.chunks)).toEqual(["MAX_TOKENS"]);
  });

  it("starts no further attempt once aborted", async () => {
    const ctl = new AbortController();
    const clock = new VirtualClock();
    const up = scriptedUpstream([{ sse: [chunk([{ t: "a" }]), "stall"] }]);
    const engine = new ContinuationEngine({
      request,
      runAttempt: up.run,
      kit: fakeKit,
      prompts,
      clock,
      signal: ctl.signal,
      bounds: { idleTimeoutMs: 1_000 },
    });
    const gen = engine.run();
    const first = await clock.drive(gen.next());
    expect(first.done).toBe(false);
    ctl.abort();
    const end = await clock.drive(gen.next());
    expect(end).toMatchObject({ done: true, value: { result: "aborted" } });
    expect(up.calls).toHaveLength(1);
    expect(up.calls[0]?.signal.aborted).toBe(true);
  });
});

describe("ContinuationEngine: a fed first attempt (issue 13)", () => {
  it("extends only the first attempt's first-byte and idle timeouts by firstAttemptSlackMs", async () => {
    const clock = new VirtualClock();
    const up = scriptedUpstream([
      { sse: [chunk([{ t: "Slow " }]), "stall"] },
      { sse: [chunk([{ t: "more " }]), "stall"] },
      { sse: [chunk([{ t: "end." }], { finishReason: "STOP" })] },
    ]);
    const engine = new ContinuationEngine({
      request,
      runAttempt: up.run,
      kit: fakeKit,
      prompts,
      clock,
      bounds: { idleTimeoutMs: 1_000, firstByteTimeoutMs: 5_000 },
      firstAttemptSlackMs: 30_000,
    });
    const summary = await clock.drive(
      (async () => {
        const gen = engine.run();
        for (;;) {
          const n = await gen.next();
          if (n.done) return n.value;
        }
      })(),
    );
    expect(summary.result).toBe("complete");
    expect(summary.attempts.map((a) => a.reason)).toEqual(["idle_timeout", "idle_timeout", "STOP"]);
    expect(summary.attempts[0]?.durationMs).toBeGreaterThanOrEqual(31_000);
    expect(summary.attempts[1]?.durationMs).toBeLessThan(2_000);
  });
});

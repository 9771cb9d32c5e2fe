/**
 * The fast start (issue 13): the Worker serves the first attempt itself, feeds the session object off the critical
 * path, and hands the client over to the object's log at a continuation. These check the seams: no event lost or
 * repeated across the hand-over in every client format, the object's log equal to what the client got, a client
 * that leaves during the first attempt, the error head, and the guard on the hand-over's invariant.
 */
import { describe, expect, it } from "vitest";
import { AdoptFeed } from "../../src/durable/gemini-session/gemini-adopt";
import {
  FAST_START_MAX_BODY_BYTES,
  readGeminiSessionCounters,
} from "../../src/durable/gemini-session/gemini-route";
import { digestOf, type HandoverLine, LineReader } from "../../src/durable/gemini-session/handover-lines";
import type { GenerateContentResponse } from "../../src/gemini/types";
import { DEFAULT_RETRY_PROMPTS } from "../../src/stream/prompts";
import { SseParser } from "../../src/stream/sse-parser";
import {
  ANSWER,
  answerText,
  callGemini,
  env,
  finishReasons,
  mockOrigin,
  prompt,
  readSse,
  reattachGeminiSession,
  release,
  requests,
  scenario,
  ssePath,
} from "./gemini-harness";

async function lines(response: Response): Promise<HandoverLine[]> {
  const reader = new LineReader();
  return reader.push(new Uint8Array(await response.arrayBuffer()));
}

describe("Gemini fast start: hand-over to the session object", () => {
  it("a cut after k events: the client gets every event once, and the object's log is the same stream", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 100 }],
    });
    const { response, settled } = await callGemini(ssePath(id), prompt());
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs).toHaveLength(2);
    // The continuation was made by the object from the text the client received (96 characters in 6 events).
    expect(reqs[1]?.continuedFrom).toBeGreaterThan(0);
    await settled;
    const whole = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
    expect(whole).toEqual(events);
  });

  it("the OpenAI stream's role chunk, finish chunk and [DONE] each appear once across the hand-over", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 64 }],
    });
    const { response } = await callGemini("/v1beta/openai/chat/completions", {
      model: id,
      stream: true,
      messages: [{ role: "user", content: "Tell me a story." }],
    });
    const raw = await response.text();
    const parts = raw.split("\r\n\r\n").filter((l) => l.length > 0);
    expect(parts.filter((l) => l === "data: [DONE]")).toHaveLength(1);
    expect(parts.at(-1)).toBe("data: [DONE]");
    const chunks = parts.slice(0, -1).map((l) => JSON.parse(l.slice("data: ".length)));
    expect(chunks.filter((c) => c.choices[0].delta.role !== undefined)).toHaveLength(1);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe(ANSWER);
    expect(chunks.filter((c) => c.choices[0].finish_reason !== null)).toHaveLength(1);
    expect((await requests(id)).filter((r) => r.attempt !== null)).toHaveLength(2);
  });

  it("the JSON array stays one well-formed array across the hand-over", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 64 }],
    });
    const { response } = await callGemini(`/v1beta/models/${id}:streamGenerateContent`, prompt());
    const events = JSON.parse(await response.text()) as GenerateContentResponse[];
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
  });

  it("a client that leaves during the first attempt: the object finishes the generation; re-attach gets all of it", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 120, holdAfterChars: 32 }],
    });
    const { response, settled } = await callGemini(ssePath(id), prompt(), { graceMs: 10_000 });
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const parser = new SseParser();
    const first: GenerateContentResponse[] = [];
    while (first.length === 0) {
      const step = await reader.read();
      if (step.done) break;
      for (const e of parser.push(step.value)) first.push(JSON.parse(e.data) as GenerateContentResponse);
    }
    await reader.cancel();
    // The first attempt goes on (fed to the object) after the client left, is cut, and the object continues it.
    await release(id);
    const reqs = (await requests(id, 2, true)).filter((r) => r.attempt !== null);
    expect(reqs).toHaveLength(2);
    const whole = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
    expect(answerText(whole)).toBe(ANSWER);
    expect(finishReasons(whole)).toEqual(["STOP"]);
    expect(whole.slice(0, first.length)).toEqual(first);
    await settled;
  });

  it("an error head is answered by the Worker with the upstream's error, and still counted as a failed session", async () => {
    const before = await readGeminiSessionCounters(env);
    const id = await scenario({
      answer: ANSWER,
      attempts: [{ kind: "http-error", status: 400, message: "bad thing" }],
    });
    const { response, settled } = await callGemini(ssePath(id), prompt());
    expect(response.status).toBe(400);
    expect(response.headers.get("x-proxy-error")).toBeNull();
    const body = (await response.json()) as { error: { code: number; message: string } };
    expect(body.error).toMatchObject({ code: 400, message: "bad thing" });
    expect(response.headers.get("x-proxy-session-id")).toBeNull();
    await settled;
    const after = await readGeminiSessionCounters(env);
    expect(after.failed).toBe(before.failed + 1);
    expect(after.active).toBe(before.active);
  });

  it("a body over the fast start's limit (chunked, no Content-Length) starts in the object and is repaired the same way", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 100 }],
    });
    const big = prompt("x".repeat(FAST_START_MAX_BODY_BYTES + 1024));
    const { response, settled } = await callGemini(ssePath(id), big);
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs).toHaveLength(2);
    await settled;
    expect((await readSse(await reattachGeminiSession(env, sessionId, 0))).events).toEqual(events);
  });

  it("the object refuses a hand-over whose digest does not match its log, in-band", async () => {
    const id = await scenario({ answer: ANSWER, chunkChars: 16 });
    const { response, settled } = await callGemini(ssePath(id), prompt());
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    const { events } = await readSse(response);
    await settled;
    const stub = env.GEMINI_SESSION.get(env.GEMINI_SESSION.idFromString(sessionId));
    // The right digest: the events from 3 on, then the end.
    const good = await lines(
      await stub.fetch(
        `https://gemini-session/events?from=3&digest=${encodeURIComponent(digestOf(events, 3))}`,
      ),
    );
    expect(good.flatMap((l) => ("e" in l ? [l.e] : []))).toEqual(events.slice(3));
    expect(good.at(-1)).toEqual({ end: { result: "complete" } });
    // A digest of other events (one changed character): an explicit failure, no event of the log.
    const altered = structuredClone(events);
    const part = altered[1]?.candidates?.[0]?.content?.parts?.[0];
    if (part) part.text = `${part.text}x`;
    const bad = await lines(
      await stub.fetch(
        `https://gemini-session/events?from=3&digest=${encodeURIComponent(digestOf(altered, 3))}`,
      ),
    );
    expect(bad).toHaveLength(2);
    const only = bad[0] as { e: GenerateContentResponse };
    expect(only.e.candidates?.[0]?.finishReason).toBe("OTHER");
    expect(only.e.candidates?.[0]?.finishMessage).toContain("does not match");
    expect(bad[1]).toEqual({ end: { result: "failed" } });
  });
});

/** An adopted session's settings against the Gemini mock's scenario `model` (the object's own later attempts). */
function adoptStart(model: string, graceMs: number, bounds: Record<string, number>) {
  return {
    format: "sse" as const,
    endpoint: {
      name: "fed",
      displayName: "fed",
      targets: [{ url: mockOrigin(), weight: 1 }],
      transport: "socket" as const,
      gemini: true,
    },
    upstream: { rest: `/v1beta/models/${model}:streamGenerateContent`, search: "?alt=sse" },
    headers: [] as [string, string][],
    prompts: DEFAULT_RETRY_PROMPTS,
    bounds,
    graceMs,
    aggressiveFallback: false,
    debug: false,
    startedAt: Date.now(),
  };
}

/**
 * Plays the Worker's side of `/adopt` on `stub`: the settings, the prompt, a 200 SSE head and one event, then a clean
 * end of the first attempt. Resolves once the object has read the feed.
 */
async function adoptOneEvent(
  stub: DurableObjectStub,
  start: ReturnType<typeof adoptStart>,
  event: GenerateContentResponse,
): Promise<void> {
  const encoder = new TextEncoder();
  const feed = new AdoptFeed(start, encoder.encode(JSON.stringify(prompt())));
  feed.head({ status: 200, headers: [["content-type", "text/event-stream"]] });
  feed.write(encoder.encode(`data: ${JSON.stringify(event)}\r\n\r\n`));
  feed.close();
  const adopted = await stub.fetch("https://gemini-session/adopt", {
    method: "POST",
    body: feed.body,
    headers: feed.headers,
  });
  await adopted.body?.cancel();
}

describe("Gemini fast start: a Worker that never hands over", () => {
  it("stops counting the Worker's client after the hand-over window, so the grace period ends the generation", async () => {
    // The object's own continuation stalls after 16 characters; nobody ever reads the session again.
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "stall", afterChars: 16 }] });
    const stub = env.GEMINI_SESSION.get(env.GEMINI_SESSION.newUniqueId());
    const start = adoptStart(id, 100, {
      rateLimitMaxDelayMs: 50,
      serverErrorMaxDelayMs: 50,
      idleTimeoutMs: 60_000,
    });
    // A clean end without a finish reason (a cut), then the Worker is gone: no /events, no /detach.
    await adoptOneEvent(stub, start, {
      candidates: [{ content: { role: "model", parts: [{ text: ANSWER.slice(0, 32) }] } }],
    });
    // The mock sees the object close its stalled continuation: after the hand-over window (50 ms) and the grace
    // period (100 ms), long before the 60 s idle timeout.
    const reqs = await requests(id, 1, true);
    expect(reqs.map((r) => r.end)).toEqual(["client-closed"]);
  });
});

describe("Gemini fast start: a re-attach that overtakes the object's feed", () => {
  it("waits for the adopt instead of answering 404 (the client has the session id before the object is fed)", async () => {
    const id = env.GEMINI_SESSION.newUniqueId();
    const stub = env.GEMINI_SESSION.get(id);
    // Sent first on the same stub, so it reaches the object before the adopt below (messages keep their order).
    const attached = stub.fetch("https://gemini-session/attach?from=0");
    await adoptOneEvent(stub, adoptStart("unused", 10_000, {}), {
      candidates: [{ content: { role: "model", parts: [{ text: ANSWER }] }, finishReason: "STOP" }],
    });
    const response = await attached;
    expect(response.status).toBe(200);
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
  });
});

/** The GeminiSession object's lifecycle: re-attach, client disconnect and the grace period, counters. */
import { describe, expect, it } from "vitest";
import { readGeminiSessionCounters } from "../../src/durable/gemini-session/gemini-route";
import type { GenerateContentResponse } from "../../src/gemini/types";
import { SseParser } from "../../src/stream/sse-parser";
import {
  ANSWER,
  answerText,
  callGemini,
  env,
  finishReasons,
  prompt,
  readSse,
  reattachGeminiSession,
  release,
  requests,
  scenario,
  ssePath,
} from "./gemini-harness";

/** Reads exactly `n` SSE events from a body, then cancels it (the client "loses its connection"). */
async function readThenDrop(body: ReadableStream<Uint8Array>, n: number): Promise<GenerateContentResponse[]> {
  const reader = body.getReader();
  const parser = new SseParser();
  const events: GenerateContentResponse[] = [];
  while (events.length < n) {
    const step = await reader.read();
    if (step.done) break;
    for (const e of parser.push(step.value)) events.push(JSON.parse(e.data) as GenerateContentResponse);
  }
  await reader.cancel();
  return events;
}

describe("GeminiSession", () => {
  it("re-attach mid-stream receives exactly the missing events", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [{ kind: "cut", afterChars: 120, holdAfterChars: 48 }],
    });
    const { response } = await callGemini(ssePath(id), prompt(), { graceMs: 10_000 });
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    // At least two events; a read may carry more (every event the session had, up to the hold at 48 characters).
    const first = await readThenDrop(response.body as ReadableStream<Uint8Array>, 2);
    expect(first.length).toBeGreaterThanOrEqual(2);
    expect(answerText(first)).toBe(ANSWER.slice(0, 16 * first.length));
    await release(id);
    const again = await reattachGeminiSession(env, sessionId, first.length);
    expect(again.status).toBe(200);
    const rest = (await readSse(again)).events;
    expect(answerText(first) + answerText(rest)).toBe(ANSWER);
    expect(finishReasons(rest)).toEqual(["STOP"]);
    // The whole log from 0 is the same stream again.
    const whole = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
    expect(whole).toEqual([...first, ...rest]);
  });

  it("stops the upstream after the grace period once the client is gone, and starts no other attempt", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "stall", afterChars: 32 }] });
    const { response } = await callGemini(ssePath(id), prompt(), {
      graceMs: 200,
      bounds: { idleTimeoutMs: 60_000 },
    });
    const sessionId = response.headers.get("x-proxy-session-id") ?? "";
    await readThenDrop(response.body as ReadableStream<Uint8Array>, 1);
    // The mock sees the gateway close the stalled attempt (after the grace period, long before the idle timeout).
    const reqs = await requests(id, 1, true);
    expect(reqs.map((r) => r.end)).toEqual(["client-closed"]);
    // The session's log ends with an explicit failure, not a clean end.
    const events = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
    expect(finishReasons(events)).toEqual(["OTHER"]);
    expect((await requests(id)).filter((r) => r.attempt !== null)).toHaveLength(1);
  });

  it("many concurrent clients that fell behind their sessions each get the backlog in a few chunks", async () => {
    // Soak regression: one event per pull cost a round trip per event through the lockstep streams (client body,
    // /start framing, the Worker's unframing); under load a client behind a finished session of ~200 small events
    // still had half the answer after 60 s. Nothing reads until every session has finished its generation.
    const SESSIONS = 16;
    const calls = await Promise.all(
      Array.from({ length: SESSIONS }, async () => {
        const id = await scenario({ answer: ANSWER, chunkChars: 2 });
        const { response } = await callGemini(ssePath(id), prompt());
        return { id, response };
      }),
    );
    for (const { id, response } of calls) {
      await requests(id, 1, true);
      // A re-attach from 0 ends only once the session's log has ended: the whole answer is there.
      const sessionId = response.headers.get("x-proxy-session-id") ?? "";
      const whole = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
      expect(answerText(whole)).toBe(ANSWER);
    }
    for (const { response } of calls) {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const parser = new SseParser();
      const events: GenerateContentResponse[] = [];
      let reads = 0;
      let bytes = 0;
      for (let step = await reader.read(); !step.done; step = await reader.read()) {
        reads++;
        bytes += step.value.length;
        for (const e of parser.push(step.value)) events.push(JSON.parse(e.data) as GenerateContentResponse);
      }
      expect(answerText(events)).toBe(ANSWER);
      expect(finishReasons(events)).toEqual(["STOP"]);
      // ~185 events (~27 kB): the few already queued in the pipeline while the client lagged, then the rest in
      // chunks bounded by bytes (workerd moves an object's body in reads of up to 4 KiB), never one read per event.
      expect(events.length).toBeGreaterThan(150);
      expect(reads).toBeLessThanOrEqual(Math.ceil(bytes / 1024) + 4);
    }
  });

  it("rejects unknown and malformed session ids", async () => {
    expect((await reattachGeminiSession(env, "nope", 0)).status).toBe(404);
    const unknown = env.GEMINI_SESSION.newUniqueId().toString();
    expect((await reattachGeminiSession(env, unknown, 0)).status).toBe(404);
  });

  it("reports its outcome to the /health session counters", async () => {
    const before = await readGeminiSessionCounters(env);
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "cut", afterChars: 40 }] });
    const { response } = await callGemini(ssePath(id), prompt());
    expect(answerText((await readSse(response)).events)).toBe(ANSWER);
    const after = await readGeminiSessionCounters(env);
    expect(after).toEqual({
      active: before.active,
      completed: before.completed + 1,
      recovered: before.recovered + 1,
      continuations: before.continuations + 1,
      failed: before.failed,
    });
  });

  it("a client that leaves before the first byte also stops the upstream after the grace period", async () => {
    const id = await scenario({
      answer: ANSWER,
      firstByteDelayMs: 300,
      attempts: [{ kind: "stall", afterChars: 16 }],
    });
    const client = new AbortController();
    const call = callGemini(
      ssePath(id),
      prompt(),
      { graceMs: 100, bounds: { idleTimeoutMs: 60_000 } },
      {},
      client.signal,
    );
    const before = await readGeminiSessionCounters(env);
    await requests(id, 1, false);
    client.abort();
    await call.then((c) => c.response.body?.cancel()).catch(() => {});
    const reqs = await requests(id, 1, true);
    expect(reqs.map((r) => r.end)).toEqual(["client-closed"]);
    // The object ends the session on its own once the upstream is stopped: it is counted as failed, and its reports
    // are sent before this test (the file's last) ends.
    await expect
      .poll(async () => (await readGeminiSessionCounters(env)).failed, { timeout: 10_000 })
      .toBe(before.failed + 1);
  });
});

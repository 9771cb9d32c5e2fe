/**
 * Issue 11.4: a Gemini session's stored events always have a deadline, also when the object stops mid-generation
 * (eviction, deploy, crash) and is restarted from storage. The restart is a real one: every Durable Object instance is
 * aborted (`abortAllDurableObjects`) while the upstream stream is stalled, then the object is woken from storage.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SESSION_RETENTION_MS } from "../../src/durable/session-reports";
import {
  ANSWER,
  answerText,
  callGemini,
  env,
  finishReasons,
  prompt,
  readSse,
  reattachGeminiSession,
  scenario,
  ssePath,
} from "./gemini-harness";

/** Starts a session whose upstream stalls after 32 characters and reads its first event. */
async function stalledSession(): Promise<{ sessionId: string; first: string }> {
  const id = await scenario({
    answer: ANSWER,
    chunkChars: 16,
    attempts: [{ kind: "stall", afterChars: 32 }],
  });
  const { response } = await callGemini(ssePath(id), prompt(), {
    graceMs: 60_000,
    bounds: { idleTimeoutMs: 60_000 },
  });
  expect(response.status).toBe(200);
  const sessionId = response.headers.get("x-proxy-session-id") ?? "";
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  // The client keeps reading in the background; the abort below breaks its stream.
  void (async () => {
    for (;;) if ((await reader.read()).done) return;
  })().catch(() => {});
  await objectHolds(sessionId);
  return { sessionId, first };
}

/**
 * Waits until the session object holds its first event. The Worker serves the first attempt and starts the object
 * just after the client's first event (issue 13), so the object may not exist yet when the client has it; its
 * hand-over answer (`/events`) waits for the object's start and then for the event.
 */
async function objectHolds(sessionId: string): Promise<void> {
  const res = await stubOf(sessionId).fetch("https://gemini-session/events?from=0");
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await reader.cancel();
}

/** A new stub per call: a stub whose object was aborted stays broken. */
const stubOf = (sessionId: string) => env.GEMINI_SESSION.get(env.GEMINI_SESSION.idFromString(sessionId));

const alarmOf = (sessionId: string) =>
  runInDurableObject(stubOf(sessionId), (_instance, state) => state.storage.getAlarm());

const storedTables = (sessionId: string) =>
  runInDurableObject(stubOf(sessionId), (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'meta')",
      )
      .toArray()
      .map((r) => r.name),
  );

describe("GeminiSession: stored events always expire", () => {
  it("sets the deletion alarm before the object stores its first event, keeps it while running, and deletes after a restart", async () => {
    const { sessionId, first } = await stalledSession();
    expect(first).toContain("data:");
    const before = Date.now();
    const armed = await alarmOf(sessionId);
    expect(armed).not.toBeNull();
    expect(armed!).toBeLessThanOrEqual(before + SESSION_RETENTION_MS);

    // The alarm firing mid-generation neither deletes the log nor leaves it without a deadline.
    expect(await runDurableObjectAlarm(stubOf(sessionId))).toBe(true);
    expect(await alarmOf(sessionId)).not.toBeNull();
    expect(await storedTables(sessionId)).toEqual(expect.arrayContaining(["events", "meta"]));

    await abortAllDurableObjects();
    // Woken from storage: the log is finished with an explicit failure and still has its deadline.
    const events = (await readSse(await reattachGeminiSession(env, sessionId, 0))).events;
    expect(answerText(events)).toBe(ANSWER.slice(0, 32));
    expect(finishReasons(events)).toEqual(["OTHER"]);
    expect(await alarmOf(sessionId)).not.toBeNull();

    expect(await runDurableObjectAlarm(stubOf(sessionId))).toBe(true);
    expect(await storedTables(sessionId)).toEqual([]);
    expect((await reattachGeminiSession(env, sessionId, 0)).status).toBe(404);
    // The 404 answer stored nothing either.
    expect(await storedTables(sessionId)).toEqual([]);
  });

  it("a restart that finds a stored session without an alarm sets one", async () => {
    const { sessionId } = await stalledSession();
    // What a session stored before this fix looks like: events, no end, no alarm.
    await runInDurableObject(stubOf(sessionId), (_instance, state) => state.storage.deleteAlarm());
    expect(await alarmOf(sessionId)).toBeNull();
    await abortAllDurableObjects();

    expect(await alarmOf(sessionId)).not.toBeNull();
    expect(await runDurableObjectAlarm(stubOf(sessionId))).toBe(true);
    expect(await storedTables(sessionId)).toEqual([]);
    expect((await reattachGeminiSession(env, sessionId, 0)).status).toBe(404);
  });
});

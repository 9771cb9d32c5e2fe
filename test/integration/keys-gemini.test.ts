/**
 * A Gemini session with a key pool (issue 14): the continuation of a cut stream uses the pool, and a
 * continuation whose key is rate limited moves to another key before anything reaches the client.
 * The pool is the `KEYS_TEST_POOL` binding of vitest.config.ts, which the session object reads too.
 */
import { describe, expect, it } from "vitest";
import {
  ANSWER,
  answerText,
  callGemini,
  finishReasons,
  geminiEndpoint,
  prompt,
  readSse,
  requests,
  scenario,
  ssePath,
  TEST_SETTINGS,
} from "./gemini-harness";

const POOL = ["gem-pool-key-one-1a2b", "gem-pool-key-two-3c4d"];

describe("Gemini session with a key pool", () => {
  it("a continuation rate limited on one key continues on the other; the client's key never reaches Google", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 16,
      attempts: [
        { kind: "cut", afterChars: 48 },
        { kind: "http-error", status: 429, retryDelaySec: 30 },
      ],
      defaultAttempt: { kind: "complete" },
    });
    const endpoint = {
      ...geminiEndpoint(),
      name: `gemini-keys-${id}`,
      keys: { secret: "KEYS_TEST_POOL", placement: { kind: "header" as const, name: "x-goog-api-key" } },
    };
    const { response, settled } = await callGemini(ssePath(id), prompt(), {}, {}, undefined, endpoint);
    expect(response.status).toBe(200);
    const { events } = await readSse(response);
    await settled;
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    const reqs = (await requests(id, 3)).filter((r) => r.attempt !== null);
    expect(reqs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const keys = reqs.map((r) => r.headers["x-goog-api-key"]);
    for (const key of keys) expect(POOL).toContain(key);
    // The rate-limited continuation's key was not used again: the request moved to the other key.
    expect(keys[2]).not.toBe(keys[1]);
    // The client's own key ("test-key", sent by the harness) was replaced on every attempt.
    expect(reqs.every((r) => r.query === "" || !r.query.includes("key="))).toBe(true);
  });

  it("every pool key cooling: the client gets the 429 with the soonest key's delay, not a wait", async () => {
    const id = await scenario({
      answer: ANSWER,
      attempts: [],
      defaultAttempt: { kind: "http-error", status: 429, retryDelaySec: 40 },
    });
    const endpoint = {
      ...geminiEndpoint(),
      name: `gemini-keys-cool-${id}`,
      keys: { secret: "KEYS_TEST_POOL", placement: { kind: "header" as const, name: "x-goog-api-key" } },
    };
    const started = Date.now();
    const { response, settled } = await callGemini(ssePath(id), prompt(), {}, {}, undefined, endpoint);
    const text = await response.text();
    await settled;
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(39);
    for (const key of POOL) expect(text).not.toContain(key);
    // Both keys were tried once each; the engine did not keep the client waiting for a cool-down.
    expect((await requests(id, 2)).filter((r) => r.attempt !== null)).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(TEST_SETTINGS.bounds?.deadlineMs ?? 20_000);
  });
});

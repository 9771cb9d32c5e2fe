/**
 * `GEMINI_ENGINE` end to end (issue 11.8): every field, set as the Worker variable, changes what a protected Gemini
 * request does through the real entry point. Each case is chosen so that the built-in default of that field gives a
 * different, observable result (no timing assertions: outcomes and the mock's request log).
 */
import { describe, expect, it } from "vitest";
import type { ScenarioSpec } from "../mocks/gemini-scenario";
import { callGateway } from "./gateway";
import {
  ANSWER,
  answerText,
  finishReasons,
  mockOrigin,
  readSse,
  requests,
  scenario,
  ssePath,
} from "./gemini-harness";

function vars(engine: Record<string, number>): Record<string, string> {
  return {
    ENDPOINTS: JSON.stringify({ gemini: { targets: [mockOrigin()], transport: "socket", gemini: true } }),
    GEMINI_ENGINE: JSON.stringify(engine),
  };
}

async function run(spec: ScenarioSpec, engine: Record<string, number>) {
  const id = await scenario(spec);
  const call = await callGateway(
    `/gemini${ssePath(id)}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": "test-key" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Tell me a story." }] }] }),
    },
    vars(engine),
  );
  return { id, response: call.response };
}

const attemptsOf = async (id: string, min = 0, ended = true) =>
  (await requests(id, min, ended)).filter((r) => r.attempt !== null);

const HTTP_503 = { kind: "http-error", status: 503 } as const;
const HTTP_429 = { kind: "http-error", status: 429 } as const;

describe("GEMINI_ENGINE applies every field", () => {
  it("idleTimeoutMs: a stalled stream is continued after the configured silence (default 60 s)", async () => {
    const { id, response } = await run(
      { answer: ANSWER, attempts: [{ kind: "stall", afterChars: 32 }, { kind: "complete" }] },
      { idleTimeoutMs: 300 },
    );
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    expect(await attemptsOf(id, 2, false)).toHaveLength(2);
  });

  it("firstByteTimeoutMs: a silent upstream is retried after the configured wait (default 120 s)", async () => {
    const { id, response } = await run(
      { answer: ANSWER, attempts: [{ kind: "complete", firstByteDelayMs: 60_000 }, { kind: "complete" }] },
      { firstByteTimeoutMs: 300 },
    );
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(await attemptsOf(id, 2, false)).toHaveLength(2);
  });

  it("maxContinuations: gives up in-band after the configured number of continuations (default 4)", async () => {
    const cut = { kind: "cut", afterChars: 16 } as const;
    const { id, response } = await run(
      { answer: ANSWER, attempts: [cut, cut, { kind: "complete" }] },
      { maxContinuations: 1 },
    );
    const { events } = await readSse(response);
    expect(finishReasons(events)).toEqual(["OTHER"]);
    expect(await attemptsOf(id, 2)).toHaveLength(2);
  });

  it("maxAttempts: stops retrying after the configured number of upstream calls (default 8)", async () => {
    const { id, response } = await run(
      { answer: ANSWER, attempts: [HTTP_503, HTTP_503, { kind: "complete" }] },
      { maxAttempts: 2, serverErrorBaseDelayMs: 10 },
    );
    expect(response.status).toBe(503);
    await response.text();
    expect(await attemptsOf(id, 2)).toHaveLength(2);
  });

  it("deadlineMs: a retry that would end past the configured deadline is not made (default 15 min)", async () => {
    // The 503 backoff (500 ms by default) does not fit in a 200 ms deadline.
    const { id, response } = await run({ answer: ANSWER, attempts: [HTTP_503] }, { deadlineMs: 200 });
    expect(response.status).toBe(503);
    await response.text();
    expect(await attemptsOf(id, 1)).toHaveLength(1);
  });

  it("serverErrorBaseDelayMs: the first backoff is the configured base (default 0.5 s)", async () => {
    // A 5 s base backoff does not fit in a 3 s deadline: the 503 is returned without a retry.
    const { id, response } = await run(
      { answer: ANSWER, attempts: [HTTP_503] },
      { serverErrorBaseDelayMs: 5_000, deadlineMs: 3_000 },
    );
    expect(response.status).toBe(503);
    await response.text();
    expect(await attemptsOf(id, 1)).toHaveLength(1);
  });

  it("serverErrorMaxDelayMs: the backoff is capped at the configured value (default 8 s)", async () => {
    // Capped at 10 ms, the 5 s base fits in the 3 s deadline and the retry succeeds.
    const { id, response } = await run(
      { answer: ANSWER, attempts: [HTTP_503] },
      { serverErrorBaseDelayMs: 5_000, serverErrorMaxDelayMs: 10, deadlineMs: 3_000 },
    );
    expect(response.status).toBe(200);
    expect(answerText((await readSse(response)).events)).toBe(ANSWER);
    expect(await attemptsOf(id, 2)).toHaveLength(2);
  });

  it("rateLimitDefaultDelayMs: a 429 without a delay waits the configured time (default 2 s)", async () => {
    // 30 s is more than the 20 s the engine waits at most: the 429 goes back to the client at once.
    const { id, response } = await run(
      { answer: ANSWER, attempts: [HTTP_429] },
      { rateLimitDefaultDelayMs: 30_000 },
    );
    expect(response.status).toBe(429);
    await response.text();
    expect(await attemptsOf(id, 1)).toHaveLength(1);
  });

  it("rateLimitMaxDelayMs: a 429 asking for longer than the configured maximum is returned (default 20 s)", async () => {
    const { id, response } = await run(
      { answer: ANSWER, attempts: [{ ...HTTP_429, retryDelaySec: 1 }] },
      { rateLimitMaxDelayMs: 100 },
    );
    expect(response.status).toBe(429);
    await response.text();
    expect(await attemptsOf(id, 1)).toHaveLength(1);
  });

  it("graceMs: the upstream is stopped the configured time after the client left (default 15 s)", async () => {
    const { id, response } = await run(
      { answer: ANSWER, attempts: [{ kind: "stall", afterChars: 32 }] },
      { graceMs: 100, idleTimeoutMs: 60_000 },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    // Waits (on the mock's side) for the gateway to close the stalled attempt.
    const reqs = await attemptsOf(id, 1, true);
    expect(reqs.map((r) => r.end)).toEqual(["client-closed"]);
  });
});

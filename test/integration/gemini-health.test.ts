/**
 * Gemini sessions and target health together: the session objects select and fail over through `dispatch()`, report
 * outcomes and counters from their own context, and several of them share one isolate without stepping on each
 * other's I/O ("Cannot perform I/O on behalf of a different Durable Object" would lose their reports, and an
 * unhandled rejection inside an object fails the run).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import {
  handleGeminiRequest,
  readGeminiSessionCounters,
} from "../../src/durable/gemini-session/gemini-route";
import { buildHealthReport } from "../../src/durable/health/health-report";
import type { HealthEnv } from "../../src/durable/health/health-snapshot";
import type { EndpointConfig } from "../../src/transport/endpoint";
import {
  ANSWER,
  answerText,
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
  TEST_SETTINGS,
} from "./gemini-harness";
import { observed, script, targetUrl } from "./health-harness";

const healthEnv = env as unknown as HealthEnv;
let counter = 0;

function deadOrigin(): string {
  const port = inject("mockPorts")["targets.dead"];
  if (port === undefined) throw new Error("the targets mock's dead port is missing");
  return `http://127.0.0.1:${port}`;
}

/** A Gemini endpoint of its own (fresh `TargetHealth` state per test). */
function endpointOf(
  targets: { url: string; weight: number }[],
  health: Record<string, number> = {},
): EndpointConfig {
  counter += 1;
  const name = `gemini-health-${Date.now().toString(36)}-${counter}`;
  return { name, displayName: name, targets, transport: "socket", gemini: true, health };
}

async function callSession(endpoint: EndpointConfig, model: string) {
  const ctx = createExecutionContext();
  const url = new URL(`http://gateway.test/${endpoint.name}${ssePath(model)}`);
  const request = new Request(url, {
    method: "POST",
    body: JSON.stringify(prompt()),
    headers: { "content-type": "application/json", "x-goog-api-key": "test-key" },
  });
  const response = await handleGeminiRequest(
    env,
    ctx,
    request,
    { endpoint, rest: url.pathname.slice(endpoint.name.length + 1), search: url.search },
    TEST_SETTINGS,
  );
  return { response, settled: waitOnExecutionContext(ctx) };
}

/**
 * The session counters once `ready` holds for them, read again after each answer of the sessions object (at most
 * `COUNTER_READS` reads): counters are batched statistics with no event to await.
 */
async function countersWhen(
  ready: (c: Awaited<ReturnType<typeof readGeminiSessionCounters>>) => boolean,
): Promise<Awaited<ReturnType<typeof readGeminiSessionCounters>>> {
  let counters = await readGeminiSessionCounters(env);
  for (let read = 1; read < COUNTER_READS && !ready(counters); read++) {
    await new Promise((r) => setTimeout(r, COUNTER_READ_GAP_MS));
    counters = await readGeminiSessionCounters(env);
  }
  return counters;
}
const COUNTER_READS = 200;
const COUNTER_READ_GAP_MS = 10;

async function health(endpoint: EndpointConfig) {
  return (await buildHealthReport(healthEnv, [endpoint])).endpoints[endpoint.name]!.targets;
}

describe("Gemini sessions and target health", () => {
  it("two sessions running at once in one isolate both report their outcomes and counters", async () => {
    const endpoint = endpointOf([{ url: mockOrigin(), weight: 1 }]);
    const spec = { answer: ANSWER, attempts: [{ kind: "cut" as const, afterChars: 40, holdAfterChars: 16 }] };
    const ids = [await scenario(spec), await scenario(spec)];
    const before = await readGeminiSessionCounters(env);

    const calls = await Promise.all(ids.map((id) => callSession(endpoint, id)));
    // Both sessions hold their first attempt open at the same time before either goes on.
    await Promise.all(ids.map((id) => requests(id, 1, false)));
    // The Worker makes each first attempt and feeds its session object just after the client's first event
    // (issue 13), and an object sends its counters in the background: both objects' starts arrive shortly.
    const during = await countersWhen((c) => c.active >= before.active + 2);
    expect(during.active).toBe(before.active + 2);
    await Promise.all(ids.map((id) => release(id)));

    const bodies = await Promise.all(calls.map((c) => readSse(c.response)));
    for (const { events } of bodies) {
      expect(answerText(events)).toBe(ANSWER);
      expect(finishReasons(events)).toEqual(["STOP"]);
    }
    await Promise.all(calls.map((c) => c.settled));

    // Every attempt of both sessions (a cut, then a continuation) reached TargetHealth.
    const attempts = (await Promise.all(ids.map((id) => requests(id, 2, true)))).flat();
    expect(attempts.filter((r) => r.attempt !== null)).toHaveLength(4);
    const [target] = await health(endpoint);
    expect(target).toMatchObject({ state: "healthy", requests: 4, successes: 4, failures: 0 });
    expect(await readGeminiSessionCounters(env)).toEqual({
      active: before.active,
      completed: before.completed + 2,
      recovered: before.recovered + 2,
      continuations: before.continuations + 2,
      failed: before.failed,
    });
  });

  it("fails over from a dead target before any byte, ejects it, and later sessions avoid it", async () => {
    // The dead target is by far the heavier one: a blind pick would choose it almost every time.
    const endpoint = endpointOf(
      [
        { url: deadOrigin(), weight: 1_000 },
        { url: mockOrigin(), weight: 1 },
      ],
      { consecutiveFailures: 1 },
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await scenario({ answer: ANSWER, attempts: [{ kind: "cut", afterChars: 40 }] });
      ids.push(id);
      const call = await callSession(endpoint, id);
      expect(call.response.status).toBe(200);
      const { events } = await readSse(call.response);
      expect(answerText(events)).toBe(ANSWER);
      await call.settled;
    }
    const liveAttempts = (await Promise.all(ids.map((id) => requests(id, 2, true))))
      .flat()
      .filter((r) => r.attempt !== null).length;
    expect(liveAttempts).toBe(6);

    const [dead, live] = await health(endpoint);
    // Only the very first attempt tried the dead target: the ejection reached every later pick, including those of
    // sessions started afterwards (objects of their own, seeded from what the isolate knows).
    expect(dead).toMatchObject({ state: "ejected", requests: 1, failures: 1, consecutive_failures: 1 });
    expect(dead?.last_error).not.toBeNull();
    expect(dead?.ejected_until).not.toBeNull();
    expect(live).toMatchObject({ state: "healthy", requests: liveAttempts, successes: liveAttempts });
  });

  it("a 429 from one target moves the attempt to the other and marks the target rate limited", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "complete" }] });
    const endpoint = endpointOf([
      { url: targetUrl("t1", id), weight: 1_000_000 },
      { url: mockOrigin(), weight: 1 },
    ]);
    await script(id, "t1", { fallback: { status: 429, headers: { "retry-after": "30" }, body: "{}" } });
    const call = await callSession(endpoint, id);
    expect(call.response.status).toBe(200);
    expect(answerText((await readSse(call.response)).events)).toBe(ANSWER);
    await call.settled;
    // The session object finishes on its own after the Worker served the stream: its log's end comes after its
    // health reports, so reading it to the end keeps that work inside this test (the file's last).
    const sessionId = call.response.headers.get("x-proxy-session-id")!;
    expect(answerText((await readSse(await reattachGeminiSession(env, sessionId, 0))).events)).toBe(ANSWER);
    expect((await observed(id)).t1?.statuses).toEqual({ "429": 1 });
    const [limited, live] = await health(endpoint);
    expect(limited).toMatchObject({ state: "rate_limited", requests: 1, failures: 1 });
    expect(limited?.last_error).toMatchObject({ kind: "rate_limited", status: 429 });
    expect(limited?.rate_limited_until).not.toBeNull();
    expect(live).toMatchObject({ state: "healthy", requests: 1, successes: 1 });
  });
});

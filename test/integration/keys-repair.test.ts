/**
 * An OpenAI chat stream repaired in a `StreamSession` on an endpoint with a key pool (issue 14): the
 * continuation whose key is rate limited moves to the other key, and when every key cools down the
 * client gets a 429 with the soonest key's `Retry-After`. The pool is the `KEYS_TEST_POOL` binding of
 * vitest.config.ts, which the session object reads too.
 */
import { describe, expect, it } from "vitest";
import { callGateway } from "./gateway";
import {
  CHAT,
  FAST_REPAIR,
  modelObserved,
  readOpenAI,
  repairVars,
  scenarioId,
  scriptModel,
} from "./stream-repair-harness";

const POOL = ["gem-pool-key-one-1a2b", "gem-pool-key-two-3c4d"];
const TOKEN = "repair-keys-token";
const ANSWER =
  "Tides rise and fall twice a day because the Moon and the Sun pull on the oceans of the turning Earth.";

async function post(scenario: string) {
  const vars = {
    ...repairVars({ scenario, endpoint: { keys: { secret: "KEYS_TEST_POOL" } } }),
    // A cool-down longer than this is handed to the client rather than waited out.
    STREAM_REPAIR: JSON.stringify({ ...JSON.parse(FAST_REPAIR), rateLimitMaxDelayMs: 1_000 }),
    STREAM_REPAIR_ENABLED: "true",
    AUTH_TOKEN: TOKEN,
  };
  const call = await callGateway(
    `/${scenario}/v1/chat/completions`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer sk-client-own",
        "x-proxy-token": TOKEN,
      },
      body: JSON.stringify(CHAT),
    },
    vars,
  );
  const text = await call.response.text();
  await call.settled;
  return { response: call.response, text };
}

describe("stream repair with a key pool", () => {
  it("a continuation rate limited on one key continues on the other", async () => {
    const scenario = scenarioId("keys");
    await scriptModel(scenario, {
      format: "openai",
      answer: ANSWER,
      prefix: "none",
      attempts: [{ cutAfter: 30, cut: "close" }, { status: 429 }],
    });
    const { response, text } = await post(scenario);
    expect(response.status).toBe(200);
    const read = readOpenAI(text);
    expect(read.content).toBe(ANSWER);
    expect(read.done).toBe(true);
    const auth = (await modelObserved(scenario)).requests.map((r) => r.authorization);
    expect(auth).toHaveLength(3);
    for (const a of auth) expect(POOL.map((k) => `Bearer ${k}`)).toContain(a);
    expect(auth[2]).not.toBe(auth[1]);
  });

  it("every key cooling: 429 with the soonest key's Retry-After", async () => {
    const scenario = scenarioId("keyscool");
    const limited = { status: 429 };
    await scriptModel(scenario, {
      format: "openai",
      answer: ANSWER,
      prefix: "none",
      attempts: [limited, limited, limited],
    });
    const { response, text } = await post(scenario);
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(14);
    for (const key of POOL) expect(text).not.toContain(key);
    expect((await modelObserved(scenario)).requests).toHaveLength(2);
  });
});

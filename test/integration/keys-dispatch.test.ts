/**
 * Key pools in `dispatch()` against the multi-key mock, with a fake clock and a seeded random source
 * (issue 14): spread, cool-down and recovery, every key cooling, invalid and exhausted keys, affinity.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildHealthReport } from "../../src/durable/health/health-report";
import { KeysCoolingError, NoUsableKeyError } from "../../src/keys/errors";
import { seededRandom } from "../support/seeded-random";
import { Harness, healthEnv, scenarioId, settleHarnesses, T0 } from "./health-harness";
import { observedKeys, poolEndpoint, scriptKeys } from "./keys-harness";

afterEach(settleHarnesses);

const KEYS = { "key-a-0001": "a", "key-b-0002": "b", "key-c-0003": "c" } as const;
const SECRET_TEXT = Object.keys(KEYS).join("\n");
const env = (secretName: string, text = SECRET_TEXT) =>
  ({ ...healthEnv, [secretName]: text }) as typeof healthEnv;

async function sendOk(
  h: Harness,
  endpoint: ReturnType<typeof poolEndpoint>,
  e: typeof healthEnv,
  headers = new Headers(),
) {
  const r = await h.send(endpoint, { headers }, { env: e });
  const body = await r.response.text();
  return { status: r.response.status, key: r.response.headers.get("x-mock-key"), body, attempts: r.attempts };
}

describe("key pools in dispatch", () => {
  it("spreads requests over the keys by weight and replaces the client's own key", async () => {
    const name = scenarioId("kspread");
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "ok" },
      "key-b-0002": { id: "b", mode: "ok" },
      "key-c-0003": { id: "c", mode: "ok" },
    });
    const endpoint = poolEndpoint(name, "SPREAD_KEYS");
    const h = new Harness({ random: seededRandom(14) });
    const e = env("SPREAD_KEYS", "key-a-0001\nkey-b-0002 weight=2\nkey-c-0003");
    const n = 200;
    for (let i = 0; i < n; i++) {
      const r = await h.send(
        endpoint,
        {
          headers: new Headers({ authorization: "Bearer client-own-key", "x-api-key": "client-x" }),
          search: "?key=client-q&alt=sse",
        },
        { env: e },
      );
      expect(r.response.status).toBe(200);
      await r.response.arrayBuffer();
    }
    const seen = await observedKeys(name);
    expect(seen.requests).toBe(n);
    // Binomial bounds at ±4.5 sd with a seeded source: weights 1:2:1.
    const near = (count: number | undefined, p: number) =>
      expect(Math.abs((count ?? 0) - n * p)).toBeLessThan(4.5 * Math.sqrt(n * p * (1 - p)));
    near(seen.byKey.a, 0.25);
    near(seen.byKey.b, 0.5);
    near(seen.byKey.c, 0.25);
    for (const creds of seen.credentials) {
      expect(creds).toHaveLength(1);
      expect(creds[0]).toMatch(/^authorization: Bearer key-[abc]-000[123]$/);
    }
  });

  it("a 429 cools the key for the provider's delay and the request moves to another key; it recovers after", async () => {
    const name = scenarioId("kcool");
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "rate_limit", style: "retry-after", delaySeconds: 20, times: 1 },
      "key-b-0002": { id: "b", mode: "ok" },
      "key-c-0003": { id: "c", mode: "ok" },
    });
    const endpoint = poolEndpoint(name, "COOL_KEYS");
    const e = env("COOL_KEYS", "key-a-0001\nkey-b-0002");
    const h = new Harness({ random: () => 0 }); // the first usable key first
    const first = await sendOk(h, endpoint, e);
    // a answered 429 (Retry-After 20), then b served the same request before any byte reached the client.
    expect(first).toMatchObject({ status: 200, key: "b" });
    const next = await sendOk(h, endpoint, e);
    expect(next.key).toBe("b"); // a still cooling
    await h.settle();
    let report = await buildHealthReport(e, [endpoint], h.clock.now);
    const keys = report.endpoints[name]!.keys!;
    expect(keys.map((k) => k.state)).toEqual(["rate_limited", "ok"]);
    expect(keys[0]).toMatchObject({
      requests: 1,
      rate_limited_responses: 1,
      cooldown_until: new Date(T0 + 20_000).toISOString(),
    });
    expect(keys[0]!.last_error).toMatchObject({ kind: "rate_limited", status: 429 });
    h.clock.advance(20_000);
    const recovered = await sendOk(h, endpoint, e);
    expect(recovered.key).toBe("a");
    await h.settle();
    report = await buildHealthReport(e, [endpoint], h.clock.now);
    expect(report.endpoints[name]!.keys!.map((k) => k.state)).toEqual(["ok", "ok"]);
    // No target outcome was charged for the key's 429.
    expect(report.endpoints[name]!.targets[0]).toMatchObject({ state: "healthy", rate_limited_responses: 0 });
  });

  it("every key cooling: a 429 with the soonest key's Retry-After, without another upstream request", async () => {
    const name = scenarioId("kall");
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "rate_limit", style: "retry-after-ms", delaySeconds: 30 },
      "key-b-0002": { id: "b", mode: "rate_limit", style: "gemini", delaySeconds: 12 },
      "key-c-0003": { id: "c", mode: "rate_limit", style: "retry-after-date", delaySeconds: 50 },
    });
    const endpoint = poolEndpoint(name, "ALL_KEYS");
    const e = env("ALL_KEYS");
    const h = new Harness({ random: seededRandom(3) });
    const error = await h.send(endpoint, {}, { env: e }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KeysCoolingError);
    expect((error as KeysCoolingError).status).toBe(429);
    expect((error as KeysCoolingError).retryAfterSeconds).toBe(12);
    expect((await observedKeys(name)).requests).toBe(3);
    // The next request knows: no upstream request at all.
    h.clock.advance(2_000);
    const again = await h.send(endpoint, {}, { env: e }).catch((err: unknown) => err);
    expect((again as KeysCoolingError).retryAfterSeconds).toBe(10);
    expect((await observedKeys(name)).requests).toBe(3);
  });

  it("invalid keys are dropped until the secret changes; exhausted keys sit out a long cool-down", async () => {
    const name = scenarioId("kinvalid");
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "invalid", style: "gemini" },
      "key-b-0002": { id: "b", mode: "quota", style: "gemini-daily" },
      "key-c-0003": { id: "c", mode: "invalid", style: "401" },
      "key-d-0004": { id: "d", mode: "ok" },
    });
    const endpoint = poolEndpoint(name, "INV_KEYS");
    const e = env("INV_KEYS", "key-a-0001\nkey-b-0002\nkey-c-0003");
    const h = new Harness({ random: () => 0 });
    const error = await h.send(endpoint, {}, { env: e }).catch((err: unknown) => err);
    // a and c invalid, b exhausted: b's cool-down is the soonest end.
    expect(error).toBeInstanceOf(KeysCoolingError);
    expect((error as KeysCoolingError).retryAfterSeconds).toBe(3600);
    await h.settle();
    const report = await buildHealthReport(e, [endpoint], h.clock.now);
    expect(report.endpoints[name]!.keys!.map((k) => k.state)).toEqual(["invalid", "exhausted", "invalid"]);
    // After the exhaustion ends, a and c stay invalid: only b is tried, and all-invalid is a 503.
    h.clock.advance(3_600_000);
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "invalid", style: "gemini" },
      "key-b-0002": { id: "b", mode: "invalid", style: "401" },
      "key-c-0003": { id: "c", mode: "invalid", style: "401" },
    });
    const before = (await observedKeys(name)).requests;
    const none = await h.send(endpoint, {}, { env: e }).catch((err: unknown) => err);
    expect(none).toBeInstanceOf(NoUsableKeyError);
    expect((await observedKeys(name)).requests).toBe(before + 1);
    // A changed secret (a new key added) gives every key a fresh chance.
    await scriptKeys(name, { "key-a-0001": { id: "a", mode: "ok" }, "key-d-0004": { id: "d", mode: "ok" } });
    const fresh = env("INV_KEYS", "key-a-0001\nkey-b-0002\nkey-c-0003\nkey-d-0004");
    const ok = await sendOk(h, endpoint, fresh);
    expect(ok).toMatchObject({ status: 200, key: "a" });
  });

  it("affinity pins a conversation to one key and target, and the pin follows a cool-down", async () => {
    const name = scenarioId("kaff");
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "ok" },
      "key-b-0002": { id: "b", mode: "ok" },
      "key-c-0003": { id: "c", mode: "ok" },
    });
    const endpoint = poolEndpoint(name, "AFF_KEYS", { kind: "header", name: "x-goog-api-key" }, 3);
    const e = env("AFF_KEYS");
    const h = new Harness({ random: seededRandom(9) });
    const pinned = new Map<string, { key: string | null; target: string }>();
    for (const conv of ["c1", "c2", "c3", "c4", "c5", "c6"]) {
      for (let i = 0; i < 4; i++) {
        const r = await h.send(endpoint, { headers: new Headers({ "x-proxy-affinity": conv }) }, { env: e });
        const got = { key: r.response.headers.get("x-mock-key"), target: r.target.url };
        await r.response.arrayBuffer();
        if (i === 0) pinned.set(conv, got);
        else expect(got).toEqual(pinned.get(conv));
      }
    }
    // Every credential went in x-goog-api-key; the affinity header never reached the provider.
    const seen = await observedKeys(name);
    expect(seen.credentials.every((c) => c.length === 1 && c[0]!.startsWith("x-goog-api-key: key-"))).toBe(
      true,
    );
    // The key of c1 becomes rate limited: c1 moves to another key, the others whose key is different stay.
    const victim = pinned.get("c1")!.key!;
    const victimKey = Object.entries({ a: "key-a-0001", b: "key-b-0002", c: "key-c-0003" }).find(
      ([id]) => id === victim,
    )![1];
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "ok" },
      "key-b-0002": { id: "b", mode: "ok" },
      "key-c-0003": { id: "c", mode: "ok" },
      [victimKey]: { id: victim, mode: "rate_limit", style: "retry-after", delaySeconds: 60 },
    });
    const moved = await h.send(endpoint, { headers: new Headers({ "x-proxy-affinity": "c1" }) }, { env: e });
    const movedKey = moved.response.headers.get("x-mock-key");
    await moved.response.arrayBuffer();
    expect(movedKey).not.toBe(victim);
    // The pin follows: the next requests of c1 stay on the new key while the old one cools.
    const again = await h.send(endpoint, { headers: new Headers({ "x-proxy-affinity": "c1" }) }, { env: e });
    expect(again.response.headers.get("x-mock-key")).toBe(movedKey);
    await again.response.arrayBuffer();
    for (const [conv, pin] of pinned) {
      if (pin.key === victim) continue;
      const r = await h.send(endpoint, { headers: new Headers({ "x-proxy-affinity": conv }) }, { env: e });
      expect({ key: r.response.headers.get("x-mock-key"), target: r.target.url }).toEqual(pin);
      await r.response.arrayBuffer();
    }
    // After the cool-down c1 returns to its first key.
    h.clock.advance(60_000);
    await scriptKeys(name, {
      "key-a-0001": { id: "a", mode: "ok" },
      "key-b-0002": { id: "b", mode: "ok" },
      "key-c-0003": { id: "c", mode: "ok" },
    });
    const back = await h.send(endpoint, { headers: new Headers({ "x-proxy-affinity": "c1" }) }, { env: e });
    expect(back.response.headers.get("x-mock-key")).toBe(victim);
    await back.response.arrayBuffer();
  });
});

import { describe, expect, it } from "vitest";
import { NoUsableKeyError } from "../../keys/errors";
import { applyKeyOutcomes, type KeyOutcome, type KeyRecord } from "../../keys/key-state";
import type { EndpointConfig, TargetConfig } from "../../transport/endpoint";
import { UpstreamHandshakeError } from "../../transport/ws-handshake";
import { DEFAULT_HEALTH_POLICY, emptyRecord, type TargetRecord } from "../health/health-policy";
import type { HealthEnv, HealthViews } from "../health/health-snapshot";
import { affinityTarget, KeyAttempts, openWithPoolKey, upstreamHeaders } from "./key-dispatch";

const T = (url: string, weight = 1): TargetConfig => ({ url, weight });
const TARGETS = [T("http://a.test"), T("http://b.test"), T("http://c.test")];

/** Views that only hold key records and count what was reported (no Durable Object). */
class FakeViews {
  readonly keys: Record<string, KeyRecord> = {};
  readonly reported: KeyOutcome[] = [];
  keyRecords() {
    return this.keys;
  }
  reportKey(_e: EndpointConfig, _p: unknown, outcome: KeyOutcome) {
    this.reported.push(outcome);
    applyKeyOutcomes(this.keys, [outcome]);
  }
  view() {
    return {};
  }
}

const endpoint: EndpointConfig = {
  name: "pool",
  displayName: "pool",
  targets: [T("http://a.test")],
  transport: "fetch",
  gemini: false,
  keys: { secret: "POOL", placement: { kind: "header", name: "x-api-key" } },
};
const env = { POOL: "k-one\nk-two\nk-three" } as unknown as HealthEnv;

describe("affinityTarget", () => {
  it("pins each affinity value to one healthy target and moves only the pinned ones when it is ejected", () => {
    const pins = new Map<string, string>();
    for (let i = 0; i < 60; i++) pins.set(`c${i}`, affinityTarget(TARGETS, {}, 0, new Set(), `c${i}`)!.url);
    expect(new Set(pins.values()).size).toBe(3);
    const ejected: Record<string, TargetRecord> = {
      "http://b.test": { ...emptyRecord("http://b.test"), ejectedUntil: 1_000 },
    };
    for (const [conv, url] of pins) {
      const now = affinityTarget(TARGETS, ejected, 0, new Set(), conv)!.url;
      if (url === "http://b.test") expect(now).not.toBe("http://b.test");
      else expect(now).toBe(url);
      // Already tried for this request: the next choice, never the tried one.
      expect(affinityTarget(TARGETS, {}, 0, new Set([url]), conv)!.url).not.toBe(url);
    }
    expect(affinityTarget(TARGETS, {}, 0, new Set(TARGETS.map((t) => t.url)), "x")).toBeNull();
  });

  it("upstreamHeaders drops the affinity header only", () => {
    const h = upstreamHeaders(new Headers({ "x-proxy-affinity": "c1", accept: "*/*" }));
    expect([...h]).toEqual([["accept", "*/*"]]);
  });
});

describe("KeyAttempts", () => {
  it("judges a 429 from a copy of its body, leaving the delivered body intact", async () => {
    const views = new FakeViews();
    const keys = (await KeyAttempts.open(endpoint, env, new Headers()))!;
    const key = keys.choose(views as unknown as HealthViews, 0, () => 0);
    const body = JSON.stringify({
      error: { details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }] },
    });
    const judged = await keys.judge(
      new Response(body, { status: 429, headers: { "content-type": "application/json" } }),
      key,
      1_000,
      views as unknown as HealthViews,
      DEFAULT_HEALTH_POLICY,
      { env, waitUntil: () => {}, now: () => 1_000 },
    );
    expect(judged.keyFailure).toBe(true);
    expect(await judged.response.text()).toBe(body);
    expect(views.reported[0]).toMatchObject({
      fingerprint: key.fingerprint,
      kind: "rate_limited",
      cooldownMs: 7_000,
    });
    expect(keys.keyFailures).toBe(1);
    // The cooled key is not chosen again for this request.
    expect(keys.choose(views as unknown as HealthViews, 1_000, () => 0).fingerprint).not.toBe(
      key.fingerprint,
    );
  });
});

describe("openWithPoolKey", () => {
  const ctx = { waitUntil: () => {} };
  it("moves to another key when the handshake is refused for the key, and puts the key where the provider wants it", async () => {
    const views = new FakeViews();
    const seen: string[] = [];
    const response = await openWithPoolKey(
      endpoint,
      env,
      ctx.waitUntil,
      new Headers({ authorization: "Bearer client" }),
      "?x=1",
      async (headers, search) => {
        seen.push(`${headers.get("x-api-key")} ${headers.get("authorization")} ${search}`);
        if (seen.length === 1) throw new UpstreamHandshakeError("refused", 401);
        return new Response(null, { status: 200 });
      },
      views as unknown as HealthViews,
    );
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    for (const line of seen) expect(line).toMatch(/^k-(one|two|three) null \?x=1$/);
    expect(seen[0]).not.toBe(seen[1]);
    expect(views.reported.map((o) => o.kind)).toEqual(["invalid", "success"]);
  });

  it("every key refused: NoUsableKeyError; other failures are rethrown at once", async () => {
    const refuse = async () => {
      throw new UpstreamHandshakeError("refused", 403);
    };
    const open = (opener: typeof refuse) =>
      openWithPoolKey(
        endpoint,
        env,
        ctx.waitUntil,
        new Headers(),
        "",
        opener,
        new FakeViews() as unknown as HealthViews,
      );
    await expect(open(refuse)).rejects.toBeInstanceOf(NoUsableKeyError);
    let calls = 0;
    const broken = async () => {
      calls++;
      throw new UpstreamHandshakeError("bad gateway", 502);
    };
    await expect(open(broken)).rejects.toBeInstanceOf(UpstreamHandshakeError);
    expect(calls).toBe(1);
  });
});

/**
 * Edge cases of `dispatch()` with a scripted egress function (no network), so each rule is isolated.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { EgressCall, EgressFn, EgressOutcome } from "../../src/durable/failover/failover";
import {
  AllTargetsFailedError,
  BadRequestError,
  ClientClosedError,
  UpstreamConnectError,
  UpstreamTimeoutError,
} from "../../src/transport/errors";
import { HeldBody } from "../../src/transport/held-body";
import { endpointOf, Harness, scenarioId, settleHarnesses } from "./health-harness";

afterEach(settleHarnesses);

type Step = number | Error | { status: number; headers?: Record<string, string> };

/** An egress that answers from a per-target list of steps and records every call. */
function scripted(steps: Record<string, Step[]>) {
  const calls: { target: string; body: string | null }[] = [];
  const fn: EgressFn = async (req: EgressCall): Promise<EgressOutcome> => {
    const target = Object.keys(steps).find((k) => req.url.includes(`:${k}/`) || req.url.includes(`/${k}/`));
    const body =
      req.body === null
        ? null
        : await new Response(req.body instanceof HeldBody ? req.body.stream() : req.body).text();
    calls.push({ target: target ?? "?", body });
    const step = steps[target ?? ""]?.shift() ?? 200;
    if (step instanceof Error) throw step;
    const { status, headers } = typeof step === "number" ? { status: step, headers: {} } : step;
    return {
      response: new Response(status === 204 ? null : `from ${target}`, { status, headers }),
      transport: "fetch",
      fallbackReason: null,
    };
  };
  return { fn, calls };
}

/** Endpoint whose target URLs contain `/t1/`, `/t2/`, … so `scripted` can tell them apart. */
function endpoint(n: number, health: Record<string, number> = {}) {
  const name = scenarioId("dispatch");
  const ep = endpointOf(
    name,
    Array.from({ length: n }, (_, i) => ({ name: `t${i + 1}` })),
    health,
  );
  ep.targets = ep.targets.map((t, i) => ({ ...t, url: `${t.url}/t${i + 1}` }));
  return ep;
}

describe("dispatch rules", () => {
  it("passes a lone target's 5xx through unchanged, and rethrows its transport error as is", async () => {
    const { fn } = scripted({ t1: [{ status: 500 }, new UpstreamConnectError("connection refused")] });
    const h = new Harness({ random: () => 0 });
    const ep = endpoint(1);
    const r = await h.send(ep, {}, { egress: fn });
    expect(r.response.status).toBe(500);
    expect(await r.response.text()).toBe("from t1");
    expect(r.response.headers.get("x-proxy-attempts")).toBe("1");
    await expect(h.send(ep, {}, { egress: fn })).rejects.toBeInstanceOf(UpstreamConnectError);
  });

  it("does not fail over a body above the replay limit", async () => {
    const { fn, calls } = scripted({ t1: [new UpstreamTimeoutError("first_byte", 10, "after_write")] });
    const h = new Harness({ random: () => 0 });
    const ep = endpoint(2, { replayBodyLimitBytes: 4 });
    const body = new Response("0123456789").body;
    await expect(h.send(ep, { method: "POST", body }, { egress: fn })).rejects.toBeInstanceOf(
      UpstreamTimeoutError,
    );
    expect(calls).toEqual([{ target: "t1", body: "0123456789" }]);
  });

  it("stops at maxAttempts and names every cause", async () => {
    const { fn, calls } = scripted({
      t1: [503],
      t2: [new UpstreamConnectError("refused")],
      t3: [504],
      t4: [200],
    });
    const h = new Harness({ random: () => 0 });
    const error = await h.send(endpoint(4, { maxAttempts: 3 }), {}, { egress: fn }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect((error as AllTargetsFailedError).message).toMatch(/HTTP 503.*refused.*HTTP 504/);
    expect(calls.map((c) => c.target)).toEqual(["t1", "t2", "t3"]);
  });

  it("answers 503 when every failure was a 503", async () => {
    const { fn } = scripted({ t1: [503], t2: [503] });
    const h = new Harness({ random: () => 0 });
    const error = (await h
      .send(endpoint(2), {}, { egress: fn })
      .catch((e: unknown) => e)) as AllTargetsFailedError;
    expect(error.status).toBe(503);
    expect(error.upstreamStatus).toBe(503);
  });

  it("returns a final 429 with its Retry-After after other failures", async () => {
    const { fn } = scripted({ t1: [502], t2: [{ status: 429, headers: { "retry-after": "7" } }] });
    const h = new Harness({ random: () => 0 });
    const r = await h.send(endpoint(2), {}, { egress: fn });
    expect(r.response.status).toBe(429);
    expect(r.response.headers.get("retry-after")).toBe("7");
    expect(r.attempts).toBe(2);
  });

  it("starts no new attempt after the failover deadline", async () => {
    const h = new Harness({ random: () => 0 });
    const slow: EgressFn = async () => {
      h.clock.advance(2_000); // the attempt took 2 s of (fake) time
      throw new UpstreamTimeoutError("first_byte", 2_000, "after_write");
    };
    const error = await h
      .send(endpoint(3, { failoverDeadlineMs: 1_000 }), {}, { egress: slow })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect((error as AllTargetsFailedError).attempts).toBe(1);
    expect((error as Error).message).toContain("failover deadline reached");
  });

  it("neither records nor fails over errors that are not the upstream's, or client aborts", async () => {
    const h = new Harness({ random: () => 0 });
    const { fn, calls } = scripted({ t1: [new BadRequestError("bad header")] });
    await expect(h.send(endpoint(2), {}, { egress: fn })).rejects.toBeInstanceOf(BadRequestError);
    expect(calls).toHaveLength(1);
    const controller = new AbortController();
    let attempts = 0;
    const aborting: EgressFn = async () => {
      attempts += 1;
      controller.abort();
      throw new UpstreamConnectError("aborted");
    };
    await expect(
      h.send(endpoint(2), {}, { egress: aborting, signal: controller.signal }),
    ).rejects.toBeInstanceOf(UpstreamConnectError);
    expect(attempts).toBe(1);
  });

  it("tries no further target once the client left after a 5xx or 429 answer", async () => {
    const h = new Harness({ random: () => 0 });
    const controller = new AbortController();
    const { fn, calls } = scripted({ t1: [503], t2: [200], t3: [200] });
    const leaving: EgressFn = async (req, opts) => {
      const outcome = await fn(req, opts);
      controller.abort(); // the client hangs up while the first target is answering 503
      return outcome;
    };
    const error = await h
      .send(endpoint(3), {}, { egress: leaving, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientClosedError);
    expect(calls).toHaveLength(1);
  });

  it("replays a byte-array body identically to each target", async () => {
    const { fn, calls } = scripted({ t1: [502], t2: [200] });
    const h = new Harness({ random: () => 0 });
    const body = new TextEncoder().encode('{"a":1}');
    const r = await h.send(endpoint(2), { method: "POST", body }, { egress: fn });
    expect(r.response.status).toBe(200);
    expect(calls).toEqual([
      { target: "t1", body: '{"a":1}' },
      { target: "t2", body: '{"a":1}' },
    ]);
  });
});

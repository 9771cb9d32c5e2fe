/**
 * Stream repair of OpenAI chat completions (issue 12), in workerd with a real `StreamSession` object, against the
 * model-playing mock over TCP: every cut is continued from exactly what the client received, and the client gets the
 * ground-truth answer once, with one `[DONE]`.
 */
import { describe, expect, it } from "vitest";
import { settleHealthReports } from "../../src/durable/health/health-snapshot";
import type { AttemptPlan } from "../mocks/model-script";
import { callGateway, mockPort } from "./gateway";
import {
  CHAT,
  modelObserved,
  postRepair,
  readOpenAI,
  repairVars,
  scenarioId,
  scriptModel,
} from "./stream-repair-harness";

const ANSWER =
  "Rivers carry water from highlands to the sea — über Täler und Ebenen 😀. Along the way they shape valleys, " +
  "feed wetlands and deposit silt in wide deltas.";

async function run(
  label: string,
  attempts: AttemptPlan[],
  extra: { prefix?: "prefix" | "partial" | "none"; continuation?: string } = {},
) {
  const scenario = scenarioId(label.toLowerCase());
  await scriptModel(scenario, { format: "openai", answer: ANSWER, prefix: extra.prefix ?? "none", attempts });
  const setup = {
    scenario,
    ...(extra.continuation ? { endpoint: { continuation: extra.continuation } } : {}),
  };
  const { response, text } = await postRepair(setup, "/v1/chat/completions", CHAT);
  return { response, read: readOpenAI(text), text, observed: await modelObserved(scenario) };
}

describe("OpenAI chat stream repair (continue prompt)", () => {
  it.each<[string, AttemptPlan]>([
    ["a clean close without [DONE]", { cutAfter: 30, cut: "close" }],
    ["a cut inside an SSE event", { cutAfter: 30, cut: "mid_event" }],
    ["a cut inside a multi-byte character", { cutAfter: 60, cut: "mid_char" }],
    ["a stall", { cutAfter: 30, cut: "stall" }],
    ["a socket reset", { cutAfter: 30, cut: "reset" }],
    ["an in-band error after content", { cutAfter: 30, cut: "error" }],
  ])("repairs %s: the client reads the ground truth once, then [DONE]", async (label, plan) => {
    const { response, read, observed } = await run(label.replace(/\W+/g, "-").replace(/^-|-$/g, ""), [plan]);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-session-id")).toMatch(/^[0-9a-f]{64}$/);
    expect(read.errors).toEqual([]);
    expect(read.content).toBe(ANSWER);
    expect(read.done).toBe(true);
    expect(read.finish).toEqual(["stop"]);
    expect(read.ids.size).toBe(1);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prompt"]);
    // The continuation carried exactly what the client had received.
    expect(ANSWER.startsWith(observed.requests[1]!.partial)).toBe(true);
    expect(observed.requests[1]!.partial.length).toBeGreaterThan(0);
  });
});

describe("OpenAI chat stream repair: alignment of the continuation's first text", () => {
  it.each<[string, AttemptPlan]>([
    ["overlap", { overlap: 24 }],
    ["preamble", { preamble: "Sure, here is the continuation: " }],
    ["identical restart", { restart: true }],
  ])("drops the %s: the client still reads the ground truth once", async (label, second) => {
    const { read, observed } = await run(label.replace(/\W+/g, "-"), [
      { cutAfter: 60, cut: "close" },
      second,
    ]);
    expect(read.errors).toEqual([]);
    expect(read.content).toBe(ANSWER);
    expect(read.done).toBe(true);
    expect(observed.requests).toHaveLength(2);
  });

  it("survives three cuts, each continuation carrying the answer so far", async () => {
    const cuts: AttemptPlan[] = [
      { cutAfter: 20, cut: "close" },
      { cutAfter: 20, cut: "reset" },
      { cutAfter: 20, cut: "mid_event" },
    ];
    const { read, observed } = await run("three-cuts", cuts);
    expect(read.content).toBe(ANSWER);
    expect(read.done).toBe(true);
    const partials = observed.requests.map((r) => r.partial.length);
    expect(partials).toHaveLength(4);
    expect(partials[0]).toBe(0);
    for (let i = 1; i < partials.length; i++) expect(partials[i]!).toBeGreaterThan(partials[i - 1]!);
  });

  it("fails over invisibly on an in-band error before any content", async () => {
    const { read, observed } = await run("error-before-content", [
      { errorBeforeContent: true, cutAfter: 0, cut: "close" },
    ]);
    expect(read.errors).toEqual([]);
    expect(read.content).toBe(ANSWER);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "fresh"]);
  });

  it("gives up after the continuation bound with an error event and no [DONE]", async () => {
    const always = Array.from({ length: 8 }, (): AttemptPlan => ({ cutAfter: 8, cut: "close" }));
    const { response, read } = await run("give-up", always);
    expect(response.status).toBe(200);
    expect(read.done).toBe(false);
    expect(read.finish).toEqual([]);
    expect(read.errors).toHaveLength(1);
    expect(JSON.stringify(read.errors[0])).toContain("max_continuations");
    expect(ANSWER.startsWith(read.content)).toBe(true);
  });
});

describe("OpenAI chat stream repair by assistant prefix", () => {
  it.each<["prefix" | "partial"]>([["prefix"], ["partial"]])(
    "continues with a `%s: true` assistant message when the endpoint says so",
    async (method) => {
      const { read, observed } = await run(`prefix-${method}`, [{ cutAfter: 50, cut: "close" }], {
        prefix: method,
        continuation: method,
      });
      expect(read.content).toBe(ANSWER);
      expect(read.done).toBe(true);
      expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prefix"]);
      const sent = JSON.parse(observed.requests[1]!.body) as { messages: Record<string, unknown>[] };
      expect(sent.messages.at(-1)).toMatchObject({ role: "assistant", [method]: true });
      expect(sent.messages.at(-1)?.content).toBe(observed.requests[1]!.partial);
    },
  );

  it("falls back to the continue prompt when the provider refuses the prefix", async () => {
    const { read, observed } = await run("prefix-refused", [{ cutAfter: 50, cut: "close" }], {
      prefix: "none",
      continuation: "prefix",
    });
    expect(read.content).toBe(ANSWER);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prefix", "prompt"]);
  });
});

describe("/health counts stream repair sessions", () => {
  const streamCounters = async (scenario: string) => {
    const call = await callGateway("/health", {}, repairVars({ scenario }));
    const report = (await call.response.json()) as { sessions: { stream: Record<string, number> } };
    await call.settled;
    return report.sessions.stream;
  };

  it("a recovered session adds one completed, one recovered and its continuations", async () => {
    const before = await streamCounters("health-before");
    await run("health", [{ cutAfter: 30, cut: "close" }]);
    const after = await streamCounters("health-after");
    // Other test files' sessions may end meanwhile (the counters are global): at least this one's.
    expect(after.completed! - before.completed!).toBeGreaterThanOrEqual(1);
    expect(after.recovered! - before.recovered!).toBeGreaterThanOrEqual(1);
    expect(after.continuations! - before.continuations!).toBeGreaterThanOrEqual(1);
  });
});

describe("failover before commit inside a repair session", () => {
  it("an in-band error before content goes to the next target unseen, and is charged to the first", async () => {
    const scenario = scenarioId("failover");
    await scriptModel(scenario, {
      format: "openai",
      prefix: "none",
      answer: ANSWER,
      attempts: [{ errorBeforeContent: true, cutAfter: 0, cut: "close" }],
    });
    const base = `http://127.0.0.1:${mockPort("model")}/${scenario}`;
    const vars = repairVars({ scenario });
    vars.ENDPOINTS = JSON.stringify({
      [scenario]: {
        targets: [
          { url: `${base}~a`, weight: 1_000_000_000 },
          { url: `${base}~b`, weight: 1 },
        ],
        repair: true,
      },
    });
    const call = await callGateway(
      `/${scenario}/v1/chat/completions`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(CHAT) },
      vars,
    );
    const read = readOpenAI(await call.response.text());
    await call.settled;
    expect(read.errors).toEqual([]);
    expect(read.content).toBe(ANSWER);
    const observed = await modelObserved(scenario);
    expect(observed.requests.map((r) => `${r.target}:${r.mode}`)).toEqual(["a:fresh", "b:fresh"]);
    await settleHealthReports();
    const health = await callGateway(`/health?endpoint=${scenario}`, {}, vars);
    const report = (await health.response.json()) as {
      endpoints: Record<
        string,
        { targets: { url: string; failures: number; last_error: { kind: string } | null }[] }
      >;
    };
    await health.settled;
    // /health names targets by origin (both are the mock's): exactly one of them was charged, with the in-band error.
    const charged = report.endpoints[scenario]?.targets.filter((t) => t.failures > 0) ?? [];
    expect(charged).toHaveLength(1);
    expect(charged[0]?.failures).toBe(1);
    expect(charged[0]?.last_error?.kind).toBe("stream_error");
  });
});

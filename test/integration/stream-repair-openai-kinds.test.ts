/**
 * Stream repair of OpenAI chat completions (issue 12) for reasoning streams, tool calls, summed usage, several
 * choices and re-attach, against the model-playing mock.
 */
import { describe, expect, it } from "vitest";
import type { AttemptPlan, ModelScript } from "../mocks/model-script";
import { callGateway, mockPort } from "./gateway";
import {
  CHAT,
  dataOf,
  modelObserved,
  postRepair,
  readOpenAI,
  repairVars,
  scenarioId,
  scriptModel,
} from "./stream-repair-harness";

const ANSWER =
  "The Nile is about 6,650 km long; the Amazon carries more water than any other river on Earth.";
const REASONING =
  "SECRET-REASONING: the user asks about rivers, so compare length and discharge before answering.";

async function run(label: string, script: Omit<ModelScript, "format" | "prefix">, body: object = CHAT) {
  const scenario = scenarioId(label);
  await scriptModel(scenario, { format: "openai", prefix: "none", ...script });
  const { response, text } = await postRepair({ scenario }, "/v1/chat/completions", body);
  return { response, text, read: readOpenAI(text), observed: await modelObserved(scenario) };
}

describe("OpenAI reasoning streams", () => {
  it("cut mid-reasoning: restarts, shows no second reasoning, and never sends reasoning back", async () => {
    const { read, observed } = await run("reason-mid", {
      answer: ANSWER,
      reasoning: REASONING,
      attempts: [{ cutInReasoningAfter: 40, cut: "close" }],
    });
    expect(read.errors).toEqual([]);
    expect(read.content).toBe(ANSWER);
    expect(read.done).toBe(true);
    // The client keeps the first attempt's partial reasoning; the restart's reasoning is not shown again.
    expect(REASONING.startsWith(read.reasoning)).toBe(true);
    expect(read.reasoning.length).toBeLessThan(REASONING.length);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "fresh"]);
    for (const r of observed.requests) expect(r.body).not.toContain("SECRET-REASONING");
  });

  it("cut mid-answer: continues the answer alone; the reasoning is shown once and never fed back", async () => {
    const { read, observed } = await run("reason-answer", {
      answer: ANSWER,
      reasoning: REASONING,
      attempts: [{ cutAfter: 30, cut: "reset" }],
    });
    expect(read.content).toBe(ANSWER);
    expect(read.reasoning).toBe(REASONING);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prompt"]);
    expect(observed.requests[1]!.partial).toBe(ANSWER.slice(0, observed.requests[1]!.partial.length));
    for (const r of observed.requests) expect(r.body).not.toContain("SECRET-REASONING");
  });
});

describe("OpenAI tool calls, usage and several choices", () => {
  it("a tool-call stream that is cut ends with an explicit error and is never continued", async () => {
    const { read, observed } = await run("tool-cut", {
      answer: "",
      toolArguments: '{"river":"Nile","unit":"km","detail":"full"}',
      attempts: [{ cutAfter: 12, cut: "close" }],
    });
    expect(read.toolArgs.length).toBeGreaterThan(0);
    expect(read.errors).toHaveLength(1);
    expect(read.done).toBe(false);
    expect(read.finish).toEqual([]);
    expect(observed.requests).toHaveLength(1);
  });

  it("a whole tool-call stream passes with its finish reason", async () => {
    const args = '{"river":"Nile"}';
    const { read } = await run("tool-whole", { answer: "", toolArguments: args, attempts: [] });
    expect(read.toolArgs).toBe(args);
    expect(read.finish).toEqual(["tool_calls"]);
    expect(read.done).toBe(true);
  });

  it("include_usage: the final usage chunk sums every attempt's reported usage", async () => {
    const attempts: AttemptPlan[] = [{ emptyAnswer: true }, { cutAfter: 30, cut: "close" }, {}];
    const body = { ...CHAT, stream_options: { include_usage: true } };
    const { read, observed } = await run("usage", { answer: ANSWER, reasoning: REASONING, attempts }, body);
    expect(read.content).toBe(ANSWER);
    const reported = observed.requests.map((r) => r.usage).filter((u) => u !== null);
    expect(reported).toHaveLength(2);
    const input = reported.reduce((s, u) => s + u!.input, 0);
    const output = reported.reduce((s, u) => s + u!.output, 0);
    expect(read.usage).toEqual({
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
    });
  });

  it("n > 1 is guarded, not repaired: a cut ends with an error event and one request", async () => {
    const { response, read, observed } = await run(
      "n2",
      { answer: ANSWER, attempts: [{ cutAfter: 30, cut: "close" }] },
      { ...CHAT, n: 2 },
    );
    expect(response.headers.get("x-proxy-session-id")).toBeNull();
    expect(response.headers.get("x-proxy-stream-guard")).toBe("openai-chat");
    expect(read.errors).toHaveLength(1);
    expect(read.done).toBe(false);
    expect(observed.requests).toHaveLength(1);
  });
});

describe("re-attach", () => {
  it("GET /sessions/{id}?from=n returns the events from n on, as the first client got them", async () => {
    const scenario = scenarioId("reattach");
    await scriptModel(scenario, {
      format: "openai",
      prefix: "none",
      answer: ANSWER,
      attempts: [{ cutAfter: 30, cut: "close" }],
    });
    const { response, text } = await postRepair({ scenario }, "/v1/chat/completions", CHAT);
    const id = response.headers.get("x-proxy-session-id");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const events = text.split("\n\n").filter((e) => e !== "");
    const call = await callGateway(`/sessions/${id}?from=3`, {}, repairVars({ scenario }));
    expect(call.response.status).toBe(200);
    const again = await call.response.text();
    await call.settled;
    expect(again.split("\n\n").filter((e) => e !== "")).toEqual(events.slice(3));
    expect(dataOf(again).at(-1)).toBe("[DONE]");
  });

  it("an unknown id is a 404 with the error JSON", async () => {
    const call = await callGateway(`/sessions/${"ab".repeat(32)}?from=0`);
    expect(call.response.status).toBe(404);
    expect(((await call.response.json()) as { error: { code: number } }).error.code).toBe(404);
    await call.settled;
  });
});

describe("grace period after the client leaves", () => {
  it("stops the generation once the grace period is over; a re-attach then ends with an error, never [DONE]", async () => {
    const scenario = scenarioId("grace");
    await scriptModel(scenario, {
      format: "openai",
      prefix: "none",
      answer: ANSWER,
      attempts: [{ cutAfter: 30, cut: "stall" }],
    });
    // A long idle bound keeps the session waiting on the stalled upstream; a short grace ends it.
    const vars = repairVars({
      scenario,
      vars: { STREAM_REPAIR: JSON.stringify({ idleTimeoutMs: 60_000, graceMs: 50 }) },
    });
    vars.STREAM_GUARD = JSON.stringify({ idleMs: 60_000 });
    const call = await callGateway(
      `/${scenario}/v1/chat/completions`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(CHAT) },
      vars,
    );
    const id = call.response.headers.get("x-proxy-session-id");
    const reader = (call.response.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes('"content"')) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await call.settled;
    // The grace period ends with the upstream call cancelled: the mock answers once that connection has closed (a
    // re-attach before it would count as a returning client and cancel the grace period).
    const upstreamClosed = await fetch(`http://127.0.0.1:${mockPort("model")}/__closed/${scenario}/0`);
    expect(await upstreamClosed.json()).toEqual({ closed: true });
    const again = await callGateway(`/sessions/${id}?from=0`, {}, vars);
    const read = readOpenAI(await again.response.text());
    await again.settled;
    expect(read.done).toBe(false);
    expect(read.errors).toHaveLength(1);
    expect(JSON.stringify(read.errors[0])).toContain("client disconnected");
    expect(ANSWER.startsWith(read.content)).toBe(true);
    expect((await modelObserved(scenario)).requests).toHaveLength(1);
  });
});

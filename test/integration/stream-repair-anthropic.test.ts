/**
 * Stream repair of Anthropic Messages (issue 12) in workerd, against the model-playing mock: prefill continuation
 * (thinking off), the continue prompt (thinking on, or a model that refuses prefills), thinking blocks, tool use,
 * summed usage.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AttemptPlan, ModelScript } from "../mocks/model-script";
import { callGateway } from "./gateway";
import {
  MESSAGES,
  modelObserved,
  postRepair,
  readAnthropic,
  scenarioId,
  scriptModel,
} from "./stream-repair-harness";

const ANSWER =
  "Rivers carry water from highlands to the sea — über Täler und Ebenen 😀. Along the way they shape valleys " +
  "and deposit silt in wide deltas.";
const THINKING = "SECRET-THINKING: compare the rivers by length first, then by discharge.";

async function run(
  label: string,
  script: Partial<ModelScript> & { attempts: AttemptPlan[] },
  body: object = MESSAGES,
) {
  const scenario = scenarioId(label);
  await scriptModel(scenario, { format: "anthropic", prefix: "anthropic", answer: ANSWER, ...script });
  const { response, text } = await postRepair({ scenario, transport: "fetch" }, "/v1/messages", body);
  return { response, text, read: readAnthropic(text), observed: await modelObserved(scenario) };
}

describe("Anthropic Messages repair by prefill", () => {
  it.each<[string, AttemptPlan]>([
    ["close", { cutAfter: 30, cut: "close" }],
    ["mid-event", { cutAfter: 30, cut: "mid_event" }],
    ["mid-char", { cutAfter: 60, cut: "mid_char" }],
    ["stall", { cutAfter: 30, cut: "stall" }],
    ["reset", { cutAfter: 30, cut: "reset" }],
    ["in-band-error", { cutAfter: 30, cut: "error" }],
  ])(
    "repairs a cut (%s): the client reads the ground truth, one message, ending in message_stop",
    async (label, plan) => {
      const { response, read, observed } = await run(`a-${label}`, { attempts: [plan] });
      expect(response.status).toBe(200);
      expect(read.errors).toEqual([]);
      expect(read.text).toBe(ANSWER);
      expect(read.stopReason).toBe("end_turn");
      expect(read.types.filter((t) => t === "message_start")).toHaveLength(1);
      expect(read.types.at(-1)).toBe("message_stop");
      expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prefix"]);
      const sent = JSON.parse(observed.requests[1]!.body) as {
        messages: { role: string; content: string }[];
      };
      expect(sent.messages.at(-1)?.role).toBe("assistant");
      expect(ANSWER.startsWith(sent.messages.at(-1)!.content)).toBe(true);
    },
  );

  it("sends a prefill without trailing whitespace and drops the repeated space", async () => {
    const { read, observed } = await run("a-space", {
      chunkChars: 1,
      attempts: [{ cutAfter: 7, cut: "close" }],
    });
    expect(read.text).toBe(ANSWER);
    expect(observed.requests[1]!.partial).toBe("Rivers");
  });

  it("falls back to the continue prompt when the model refuses prefills", async () => {
    const { read, observed } = await run("a-refused", {
      prefix: "none",
      attempts: [{ cutAfter: 40, cut: "close" }],
    });
    expect(read.errors).toEqual([]);
    expect(read.text).toBe(ANSWER);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prefix", "prompt"]);
  });

  it("gives up with event: error and no message_stop", async () => {
    const always = Array.from({ length: 8 }, (): AttemptPlan => ({ cutAfter: 8, cut: "close" }));
    const { read } = await run("a-give-up", { attempts: always });
    expect(read.errors).toHaveLength(1);
    expect(read.types).not.toContain("message_stop");
    expect(read.types.at(-1)).toBe("error");
  });
});

describe("Anthropic thinking, tools and usage", () => {
  const thinkingBody = { ...MESSAGES, thinking: { type: "enabled", budget_tokens: 1024 } };

  it("thinking on: continues by the prompt, never sends thinking back, shows thinking once", async () => {
    const { read, observed } = await run(
      "a-think-answer",
      { reasoning: THINKING, attempts: [{ cutAfter: 30, cut: "reset" }] },
      thinkingBody,
    );
    expect(read.text).toBe(ANSWER);
    expect(read.thinking).toBe(THINKING);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "prompt"]);
    for (const r of observed.requests) expect(r.body).not.toContain("SECRET-THINKING");
  });

  it("cut mid-thinking: restarts without showing thinking again", async () => {
    const { read, observed } = await run(
      "a-think-mid",
      { reasoning: THINKING, attempts: [{ cutInReasoningAfter: 20, cut: "close" }] },
      thinkingBody,
    );
    expect(read.errors).toEqual([]);
    expect(read.text).toBe(ANSWER);
    expect(THINKING.startsWith(read.thinking)).toBe(true);
    expect(read.thinking.length).toBeLessThan(THINKING.length);
    expect(observed.requests.map((r) => r.mode)).toEqual(["fresh", "fresh"]);
    for (const r of observed.requests) expect(r.body).not.toContain("SECRET-THINKING");
  });

  it("a cut tool_use stream ends with event: error and is never continued", async () => {
    const { read, observed } = await run("a-tool", {
      answer: "",
      toolArguments: '{"river":"Nile","unit":"km"}',
      attempts: [{ cutAfter: 10, cut: "close" }],
    });
    expect(read.types).toContain("content_block_start");
    expect(read.errors).toHaveLength(1);
    expect(read.types).not.toContain("message_stop");
    expect(observed.requests).toHaveLength(1);
  });

  it("the final message_delta carries usage summed over every attempt, the cut one included", async () => {
    const { read, observed } = await run("a-usage", {
      reasoning: THINKING,
      attempts: [{ emptyAnswer: true }, { cutAfter: 30, cut: "close" }, {}],
    });
    expect(read.text).toBe(ANSWER);
    // Every attempt reported usage: message_start carries the input tokens even of the cut one.
    const reported = observed.requests.map((r) => r.usage).filter((u) => u !== null);
    expect(reported).toHaveLength(3);
    expect(read.usage).toMatchObject({
      input_tokens: reported.reduce((s, u) => s + u!.input, 0),
      output_tokens: reported.reduce((s, u) => s + u!.output, 0),
    });
  });
});

describe("an interrupted Anthropic session", () => {
  it("re-attaches to a log that ends with event: error (the object stopped mid-generation)", async () => {
    const id = env.STREAM_SESSION.newUniqueId();
    const stub = env.STREAM_SESSION.get(id);
    // What an evicted object leaves behind: a started session's meta and events, no end.
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)");
      sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
      sql.exec("INSERT INTO meta (k, v) VALUES ('format', 'anthropic-messages')");
      sql.exec(
        "INSERT INTO events (seq, data) VALUES (0, ?)",
        'event: message_start\ndata: {"type":"message_start"}\n\n',
      );
    });
    const call = await callGateway(`/sessions/${id.toString()}?from=0`);
    const text = await call.response.text();
    await call.settled;
    const read = readAnthropic(text);
    expect(read.types).toEqual(["message_start", "error"]);
    expect(JSON.stringify(read.errors[0])).toContain("interrupted");
  });
});

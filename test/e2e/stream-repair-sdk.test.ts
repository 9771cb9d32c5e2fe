/**
 * The official OpenAI and Anthropic SDKs read repaired streams (issue 12) through the gateway under `wrangler dev`,
 * against the model-playing mock: after cuts they get exactly the ground-truth answer, and when the gateway gives
 * up they raise an error (never a clean end with half an answer).
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import type { AttemptPlan, ModelObservation, ModelScript } from "../mocks/model-script";

const origin = inject("gatewayOrigin");
const ports = inject("mockPorts");
const ANSWER =
  "Rivers carry water from highlands to the sea — über Täler und Ebenen 😀. Along the way they shape valleys " +
  "and deposit silt in wide deltas.";
const REASONING = "SECRET-REASONING: rivers, so length first, then discharge.";
const CUTS: AttemptPlan[] = [
  { cutAfter: 20, cut: "close" },
  { cutAfter: 20, cut: "mid_char" },
  { cutAfter: 20, cut: "reset" },
];
const GIVE_UP: AttemptPlan[] = Array.from({ length: 8 }, () => ({ cutAfter: 5, cut: "close" as const }));

async function scriptModel(scenario: string, script: ModelScript): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${ports.model}/__script/${scenario}`, {
    method: "PUT",
    body: JSON.stringify(script),
  });
  expect(r.ok).toBe(true);
}

async function observed(scenario: string): Promise<ModelObservation> {
  return (await (
    await fetch(`http://127.0.0.1:${ports.model}/__observed/${scenario}`)
  ).json()) as ModelObservation;
}

describe("OpenAI SDK on a repaired chat completions stream", () => {
  const SCENARIO = "e2e-repair-openai";
  const scriptOpenAI = (plan: Pick<ModelScript, "attempts" | "reasoning">) =>
    scriptModel(SCENARIO, { format: "openai", prefix: "none", answer: ANSWER, ...plan });
  const client = new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/repair-openai/v1`, maxRetries: 0 });

  async function read(): Promise<{ content: string; reasoning: string; usage: unknown }> {
    const stream = await client.chat.completions.create({
      model: "mock-model",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Tell me about rivers." }],
    });
    let content = "";
    let reasoning = "";
    let usage: unknown = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      content += delta?.content ?? "";
      reasoning += delta?.reasoning_content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    return { content, reasoning, usage };
  }

  it("reads the ground truth to the end after three cuts, reasoning once and never sent back", async () => {
    await scriptOpenAI({ reasoning: REASONING, attempts: CUTS });
    const { content, reasoning, usage } = await read();
    expect(content).toBe(ANSWER);
    expect(reasoning).toBe(REASONING);
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) });
    const seen = await observed(SCENARIO);
    expect(seen.requests).toHaveLength(4);
    for (const r of seen.requests) expect(r.body).not.toContain("SECRET-REASONING");
  });

  it("raises an APIError when the gateway gives up", async () => {
    await scriptOpenAI({ attempts: GIVE_UP });
    const error = await read().then(
      (r) => new Error(`the SDK returned normally with ${JSON.stringify(r.content)}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});

describe("Anthropic SDK on a repaired Messages stream", () => {
  const SCENARIO = "e2e-repair-claude";
  const scriptClaude = (attempts: AttemptPlan[]) =>
    scriptModel(SCENARIO, { format: "anthropic", prefix: "anthropic", answer: ANSWER, attempts });
  const client = new Anthropic({ apiKey: "sk-ant-test", baseURL: `${origin}/repair-claude`, maxRetries: 0 });
  const request = {
    model: "mock-model",
    max_tokens: 1024,
    messages: [{ role: "user" as const, content: "Tell me about rivers." }],
  };

  it("finalMessage() is exactly the ground truth after three cuts", async () => {
    await scriptClaude(CUTS);
    const final = await client.messages.stream(request).finalMessage();
    expect(final.content).toHaveLength(1);
    expect(final.content[0]).toMatchObject({ type: "text", text: ANSWER });
    expect(final.stop_reason).toBe("end_turn");
    const seen = await observed(SCENARIO);
    expect(seen.requests.map((r) => r.mode)).toEqual(["fresh", "prefix", "prefix", "prefix"]);
  });

  it("raises an APIError when the gateway gives up", async () => {
    await scriptClaude(GIVE_UP);
    const error = await client.messages
      .stream(request)
      .finalMessage()
      .then(
        (m) => new Error(`the SDK returned normally with ${JSON.stringify(m.content)}`),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Anthropic.APIError);
  });
});

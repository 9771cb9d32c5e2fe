/**
 * The official OpenAI and Anthropic SDKs against guarded streams (issue 12), through the gateway under
 * `wrangler dev` and the scriptable SSE mock: a whole stream reads normally, a cut one makes the SDK
 * raise (never a clean end with half an answer), and an error before content fails over unseen.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import {
  anthropicError,
  anthropicStream,
  hexPrefix,
  openaiError,
  openaiStream,
  responsesStream,
  type SseScript,
  ssePlay,
} from "../mocks/sse-llm-script";

const origin = inject("gatewayOrigin");
const ports = inject("mockPorts");
const ANSWER = "Streams either finish or fail loudly — never half an answer. 😀";

async function script(scenario: string, target: "a" | "b", value: SseScript): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${ports["sse-llm"]}/script/${scenario}/${target}`, {
    method: "PUT",
    body: JSON.stringify(value),
  });
  expect(r.ok).toBe(true);
}

async function readOpenAI(client: OpenAI): Promise<string> {
  const stream = await client.chat.completions.create({
    model: "gpt-mock",
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return text;
}

describe("OpenAI SDK on a guarded stream (socket transport)", () => {
  const client = new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/sse-openai/v1`, maxRetries: 0 });
  const WHOLE = openaiStream(ANSWER);

  it("reads a whole stream to the end", async () => {
    await script("e2e-openai", "a", { queue: [ssePlay(WHOLE)] });
    expect(await readOpenAI(client)).toBe(ANSWER);
  });

  it.each([
    ["closed cleanly without [DONE]", ssePlay(WHOLE.slice(0, 5))],
    ["cut inside an event", ssePlay(WHOLE.slice(0, 5), [{ write: WHOLE[5]!.slice(0, 40) }, { end: true }])],
    [
      "cut inside a character",
      ssePlay(WHOLE.slice(0, 5), [{ hex: hexPrefix(WHOLE.at(-3)!, 104) }, { end: true }]),
    ],
    ["reset", ssePlay(WHOLE.slice(0, 5), [{ delayMs: 20 }, { reset: true }])],
    ["sending an in-band error after content", ssePlay([...WHOLE.slice(0, 5), openaiError("overloaded")])],
  ])("raises an APIError when the upstream stream is %s", async (_name, play) => {
    await script("e2e-openai", "a", { queue: [play] });
    const error = await readOpenAI(client).then(
      (text) => new Error(`the SDK returned normally with ${JSON.stringify(text)}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});

describe("OpenAI SDK on a guarded Responses stream", () => {
  const client = new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/sse-openai/v1`, maxRetries: 0 });
  const WHOLE = responsesStream(ANSWER);

  async function readResponses(): Promise<string> {
    const stream = await client.responses.create({ model: "gpt-mock", input: "hi", stream: true });
    let text = "";
    for await (const event of stream) if (event.type === "response.output_text.delta") text += event.delta;
    return text;
  }

  it("reads a whole stream to the end", async () => {
    await script("e2e-openai", "a", { queue: [ssePlay(WHOLE)] });
    expect(await readResponses()).toBe(ANSWER);
  });

  it("raises an APIError when the stream ends without response.completed", async () => {
    await script("e2e-openai", "a", { queue: [ssePlay(WHOLE.slice(0, 5))] });
    const error = await readResponses().then(
      (text) => new Error(`the SDK returned normally with ${JSON.stringify(text)}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});

describe("Anthropic SDK on a guarded stream (fetch transport)", () => {
  const client = new Anthropic({ apiKey: "sk-ant-test", baseURL: `${origin}/sse-claude`, maxRetries: 0 });
  const WHOLE = anthropicStream(ANSWER);
  const request = {
    model: "claude-mock",
    max_tokens: 64,
    messages: [{ role: "user" as const, content: "hi" }],
  };

  it("reads a whole stream to the end", async () => {
    await script("e2e-claude", "a", { queue: [ssePlay(WHOLE)] });
    const final = await client.messages.stream(request).finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: ANSWER });
    expect(final.stop_reason).toBe("end_turn");
  });

  it.each([
    ["closed cleanly without message_stop", ssePlay(WHOLE.slice(0, 6))],
    ["cut inside an event", ssePlay(WHOLE.slice(0, 6), [{ write: WHOLE[6]!.slice(0, 30) }, { end: true }])],
    [
      "sending an overloaded error after content",
      ssePlay([...WHOLE.slice(0, 6), anthropicError("overloaded_error", "Overloaded")]),
    ],
  ])("raises an APIError when the upstream stream is %s", async (_name, play) => {
    await script("e2e-claude", "a", { queue: [play] });
    const error = await client.messages
      .stream(request)
      .finalMessage()
      .then(
        (m) => new Error(`the SDK returned normally with ${JSON.stringify(m.content)}`),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Anthropic.APIError);
    // Raw iteration raises too.
    await script("e2e-claude", "a", { queue: [play] });
    const raw = await client.messages.create({ ...request, stream: true });
    const rawError = await (async () => {
      for await (const _event of raw) {
        // read to the end
      }
      return new Error("raw iteration ended normally");
    })().catch((e: unknown) => e);
    expect(rawError).toBeInstanceOf(Anthropic.APIError);
  });
});

describe("failover before commit, seen through the OpenAI SDK", () => {
  it("an error before any content goes to the second target without the client noticing", async () => {
    const client = new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/sse-failover/v1`, maxRetries: 0 });
    const WHOLE = openaiStream(ANSWER);
    await script("e2e-failover", "a", { queue: [ssePlay([WHOLE[0]!, openaiError("overloaded")])] });
    await script("e2e-failover", "b", { queue: [ssePlay(WHOLE)] });
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-mock", stream: true, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    let text = "";
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(ANSWER);
    expect(response.headers.get("x-proxy-attempts")).toBe("2");
  });
});

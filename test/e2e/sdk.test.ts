/**
 * The official OpenAI and Anthropic SDKs, unmodified, talking to the gateway under `wrangler dev`
 * through presets remapped to the LLM mock: the gateway must be invisible to them.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { E2E_TOKEN } from "./wrangler-setup";

const origin = inject("gatewayOrigin");
const IDENTIFYING = [
  "x-forwarded-for",
  "x-real-ip",
  "cookie",
  "cf-connecting-ip",
  "x-proxy-token",
  "forwarded",
];
const forged = {
  "x-forwarded-for": "198.51.100.4",
  "x-real-ip": "198.51.100.4",
  cookie: "sid=1",
  "cf-connecting-ip": "198.51.100.4",
  forwarded: "for=198.51.100.4",
};

describe("OpenAI SDK through the openai preset (socket transport)", () => {
  const client = new OpenAI({
    apiKey: "sk-test",
    baseURL: `${origin}/openai/v1`,
    defaultHeaders: forged,
    maxRetries: 0,
  });

  it("completes without streaming", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-mock", messages: [{ role: "user", content: "hello gateway" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("echo: hello gateway");
    const received = response.headers.get("x-received-headers")?.split(",") ?? [];
    expect(received).toContain("authorization");
    for (const name of IDENTIFYING) expect(received).not.toContain(name);
    expect(response.headers.get("x-proxy-request-id")).toBeTruthy();
    // The socket path is the private one: not even workerd's cf-worker stamp reaches the upstream.
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    expect(received).not.toContain("cf-worker");
  });

  it("streams every delta in order", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-mock",
      stream: true,
      messages: [{ role: "user", content: "one two three four" }],
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe("echo: one two three four");
    expect(finish).toBe("stop");
  });

  it("works through the token path and reports gateway errors in a shape the SDK reads", async () => {
    const authed = new OpenAI({
      apiKey: "sk-test",
      baseURL: `${origin}/${E2E_TOKEN}/openai/v1`,
      maxRetries: 0,
    });
    const done = await authed.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
    expect(done.choices[0]?.message.content).toBe("echo: x");
    const wrong = new OpenAI({
      apiKey: "sk-test",
      baseURL: `${origin}/not-the-token/openai/v1`,
      maxRetries: 0,
    });
    const error = await wrong.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(String(error.message)).toContain("invalid proxy token");
  });
});

describe("Anthropic SDK through the claude preset (fetch transport)", () => {
  const client = new Anthropic({
    apiKey: "sk-ant-test",
    baseURL: `${origin}/claude`,
    defaultHeaders: forged,
    maxRetries: 0,
  });

  it("creates a message", async () => {
    const { data, response } = await client.messages
      .create({ model: "claude-mock", max_tokens: 64, messages: [{ role: "user", content: "hi there" }] })
      .withResponse();
    expect(data.content[0]).toMatchObject({ type: "text", text: "echo: hi there" });
    const received = response.headers.get("x-received-headers")?.split(",") ?? [];
    // The SDK sends its key as x-api-key or authorization depending on the version; one must arrive.
    expect(received.includes("x-api-key") || received.includes("authorization")).toBe(true);
    expect(received).toContain("anthropic-version");
    for (const name of IDENTIFYING) expect(received).not.toContain(name);
  });

  it("streams a message", async () => {
    const stream = client.messages.stream({
      model: "claude-mock",
      max_tokens: 64,
      messages: [{ role: "user", content: "stream me please" }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "echo: stream me please" });
    expect(final.stop_reason).toBe("end_turn");
  });
});

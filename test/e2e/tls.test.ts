/**
 * TLS under `wrangler dev` (issue 11.13): the gateway's workerd trusts this run's test CA because
 * `startGateway` passes `NODE_EXTRA_CA_CERTS` on; the official OpenAI SDK talks to the LLM mock behind
 * a real TLS server, over the socket path, and gets a readable 502 for a certificate nobody trusts.
 */
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const origin = inject("gatewayOrigin");
const client = (preset: string) =>
  new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/${preset}/v1`, maxRetries: 0 });

describe("OpenAI SDK through an HTTPS preset (socket over TLS)", () => {
  it("completes and streams; the upstream saw no cf-worker", async () => {
    const { data, response } = await client("tlsopenai")
      .chat.completions.create({ model: "gpt-mock", messages: [{ role: "user", content: "over tls" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("echo: over tls");
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    expect(response.headers.get("x-received-headers")?.split(",")).not.toContain("cf-worker");

    const stream = await client("tlsopenai").chat.completions.create({
      model: "gpt-mock",
      stream: true,
      messages: [{ role: "user", content: "one two three" }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("echo: one two three");
  });

  it("an untrusted certificate is an APIError 502 whose message names the certificate", async () => {
    const error = await client("tlsuntrusted")
      .chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.headers?.get("x-proxy-error")).toBe("upstream_tls_failed");
    expect(apiError.message).toContain("certificate was not accepted");
  });
});

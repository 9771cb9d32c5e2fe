/**
 * The official `@google/genai` SDK, unmodified, through the gateway's `gemini` preset (remapped to the Gemini mock by
 * the e2e setup): a generation the mock cuts off arrives complete, and the SDK never notices the repair.
 */
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const origin = inject("gatewayOrigin");
const mock = `http://127.0.0.1:${inject("mockPorts").gemini}`;

const ANSWER =
  "The lighthouse keeper counted the ships every night. On the last night of winter, a small boat with no " +
  "lights drifted toward the rocks, and he rang the bell until his arms ached. At dawn the fishermen came " +
  "to thank him, and he finally slept.";

async function scenario(spec: object): Promise<string> {
  const res = await fetch(`${mock}/__scenarios`, { method: "POST", body: JSON.stringify(spec) });
  if (res.status !== 201) throw new Error(`scenario rejected: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function generationRequests(id: string): Promise<{ containsThoughtText: boolean }[]> {
  const res = await fetch(`${mock}/__scenarios/${id}/requests?ended=1&timeoutMs=10000`);
  const { requests } = (await res.json()) as {
    requests: { attempt: number | null; containsThoughtText: boolean }[];
  };
  return requests.filter((r) => r.attempt !== null);
}

const ai = new GoogleGenAI({ apiKey: "test-key", httpOptions: { baseUrl: `${origin}/gemini` } });

describe("@google/genai through the gemini preset", () => {
  it("generateContentStream receives the whole text of a stream cut twice", async () => {
    const id = await scenario({
      answer: ANSWER,
      thought: "Short story about a lighthouse.",
      attempts: [
        { kind: "cut", afterChars: 40 },
        { kind: "reset", afterChars: 60 },
      ],
    });
    const stream = await ai.models.generateContentStream({
      model: id,
      contents: "Tell me a short story.",
      config: { thinkingConfig: { includeThoughts: true } },
    });
    let text = "";
    const reasons: string[] = [];
    for await (const chunk of stream) {
      text += chunk.text ?? "";
      const reason = chunk.candidates?.[0]?.finishReason;
      if (reason) reasons.push(reason);
    }
    expect(text).toBe(ANSWER);
    expect(reasons).toEqual(["STOP"]);
    const reqs = await generationRequests(id);
    expect(reqs).toHaveLength(3);
    expect(reqs.every((r) => !r.containsThoughtText)).toBe(true);
  });

  it("generateContent receives one complete response", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "error-event", afterChars: 50 }] });
    const response = await ai.models.generateContent({ model: id, contents: "Tell me a short story." });
    expect(response.text).toBe(ANSWER);
    expect(response.candidates?.[0]?.finishReason).toBe("STOP");
  });

  it("surfaces an upstream 400 as the SDK's own error", async () => {
    const id = await scenario({
      answer: ANSWER,
      attempts: [{ kind: "http-error", status: 400, message: "bad input" }],
    });
    await expect(ai.models.generateContent({ model: id, contents: "x" })).rejects.toThrow(/bad input/);
  });

  it("a client that dropped its connection re-attaches through GET /sessions/{id}", async () => {
    const id = await scenario({
      answer: ANSWER,
      chunkChars: 20,
      attempts: [{ kind: "cut", afterChars: 120, holdAfterChars: 40 }],
    });
    const res = await fetch(`${origin}/gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": "test-key" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Tell me a short story." }] }] }),
    });
    const session = res.headers.get("x-proxy-session-id");
    expect(session).toMatch(/^[0-9a-f]{64}$/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let head = "";
    while ((head.match(/\r\n\r\n/g) ?? []).length < 2) {
      const step = await reader.read();
      if (step.done) break;
      head += new TextDecoder().decode(step.value);
    }
    await reader.cancel();
    await fetch(`${mock}/__scenarios/${id}/release`, { method: "POST" });
    const rest = await (await fetch(`${origin}/sessions/${session}?from=2`)).text();
    const texts = (head + rest)
      .split("\r\n\r\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => JSON.parse(e.slice(6)).candidates?.[0]?.content?.parts?.[0]?.text ?? "");
    expect(texts.join("")).toBe(ANSWER);
  });

  it("the OpenAI SDK streams a repaired answer from Gemini's OpenAI-compatible route", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "cut-in-event", afterChars: 70 }] });
    const client = new OpenAI({
      apiKey: "test-key",
      baseURL: `${origin}/gemini/v1beta/openai`,
      maxRetries: 0,
    });
    const stream = await client.chat.completions.create({
      model: id,
      stream: true,
      messages: [{ role: "user", content: "Tell me a short story." }],
    });
    let text = "";
    const reasons: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      const reason = chunk.choices[0]?.finish_reason;
      if (reason) reasons.push(reason);
    }
    expect(text).toBe(ANSWER);
    expect(reasons).toEqual(["stop"]);
  });
});

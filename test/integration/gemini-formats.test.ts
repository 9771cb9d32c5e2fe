/** The three native client formats and the OpenAI-compatible stream, each repaired after a cut. */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { handleGeminiRequest } from "../../src/durable/gemini-session/gemini-route";
import type { GenerateContentResponse } from "../../src/gemini/types";
import {
  ANSWER,
  answerText,
  callGemini,
  finishReasons,
  geminiEndpoint,
  prompt,
  readSse,
  requests,
  scenario,
  ssePath,
  TEST_SETTINGS,
  thoughtFree,
} from "./gemini-harness";

const CUT = { kind: "cut", afterChars: 100 } as const;

describe("Gemini anti-truncation: client formats", () => {
  it("streams a repaired JSON array for :streamGenerateContent without alt=sse", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [CUT] });
    const { response } = await callGemini(`/v1beta/models/${id}:streamGenerateContent`, prompt());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const events = JSON.parse(await response.text()) as GenerateContentResponse[];
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs.map((r) => r.query)).toEqual(["?alt=sse", "?alt=sse"]);
  });

  it("returns one aggregated response for :generateContent", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [CUT] });
    const { response } = await callGemini(`/v1beta/models/${id}:generateContent`, prompt());
    expect(response.status).toBe(200);
    const body = (await response.json()) as GenerateContentResponse;
    expect(body.candidates).toHaveLength(1);
    expect(body.candidates?.[0]?.content?.parts).toEqual([{ text: ANSWER }]);
    expect(body.candidates?.[0]?.finishReason).toBe("STOP");
    expect(body.responseId).toBe(`mock-${id}-1`);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs.map((r) => r.path)).toEqual([
      `/v1beta/models/${id}:streamGenerateContent`,
      `/v1beta/models/${id}:streamGenerateContent`,
    ]);
  });

  it("repairs an OpenAI-compatible chat stream in OpenAI chunks", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [CUT] });
    const { response } = await callGemini("/v1beta/openai/chat/completions", {
      model: id,
      stream: true,
      messages: [{ role: "user", content: "Tell me a story." }],
    });
    expect(response.status).toBe(200);
    const raw = await response.text();
    const lines = raw.split("\r\n\r\n").filter((l) => l.length > 0);
    expect(lines.at(-1)).toBe("data: [DONE]");
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l.slice("data: ".length)));
    const text = chunks.map((c) => c.choices[0].delta.content ?? "").join("");
    expect(text).toBe(ANSWER);
    expect(chunks.map((c) => c.choices[0].finish_reason).filter((f) => f !== null)).toEqual(["stop"]);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id)).toBe(true);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs).toHaveLength(2);
    expect(thoughtFree(reqs)).toBe(true);
  });

  it("signals an OpenAI-compatible give-up in-band as an error, never a stop", async () => {
    const id = await scenario({ answer: ANSWER, defaultAttempt: { kind: "cut", afterChars: 16 } });
    const { response } = await callGemini(
      "/v1beta/openai/chat/completions",
      { model: id, stream: true, messages: [{ role: "user", content: "Hi" }] },
      { bounds: { maxContinuations: 1 } },
    );
    const raw = await response.text();
    expect(raw).not.toContain("[DONE]");
    expect(raw).not.toContain('"finish_reason":"stop"');
    const last =
      raw
        .split("\r\n\r\n")
        .filter((l) => l.length > 0)
        .at(-1) ?? "";
    expect(JSON.parse(last.slice("data: ".length))).toHaveProperty("error");
  });

  it("sends an OpenAI client's Bearer API key to the native endpoint as x-goog-api-key", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [CUT] });
    const headers = { authorization: "Bearer AIzaSyTestKeyForTheMock", "x-goog-api-key": "" };
    const { response } = await callGemini(
      "/v1beta/openai/chat/completions",
      { model: id, stream: true, messages: [{ role: "user", content: "Tell me a story." }] },
      {},
      headers,
    );
    expect(response.status).toBe(200);
    await response.text();
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    // Every native attempt (the first and the continuation) carries the key where Google reads API keys.
    expect(reqs).toHaveLength(2);
    for (const r of reqs) {
      expect(r.headers["x-goog-api-key"]).toBe("AIzaSyTestKeyForTheMock");
      expect(r.headers.authorization).toBeUndefined();
    }
  });

  it("keeps an OAuth access token as a Bearer on the native endpoint", async () => {
    const id = await scenario({ answer: ANSWER });
    const { response } = await callGemini(
      "/v1beta/openai/chat/completions",
      { model: id, stream: true, messages: [{ role: "user", content: "Hi" }] },
      {},
      { authorization: "Bearer ya29.test-access-token", "x-goog-api-key": "" },
    );
    await response.text();
    const [r] = (await requests(id)).filter((x) => x.attempt !== null);
    expect(r?.headers.authorization).toBe("Bearer ya29.test-access-token");
  });

  it("forwards a native request it cannot continue unchanged, without a session", async () => {
    // Several candidates cannot be continued as one answer; a repeated `contents` member is ambiguous to splice.
    for (const raw of [
      (id: string) => JSON.stringify({ ...prompt(), generationConfig: { candidateCount: 2 }, model: id }),
      (_id: string) =>
        `{"contents":[{"role":"user","parts":[{"text":"a"}]}],${JSON.stringify(prompt()).slice(1)}`,
    ]) {
      const id = await scenario({ answer: ANSWER });
      const body = raw(id);
      const ctx = createExecutionContext();
      const url = new URL(`http://gateway.test/gemini${ssePath(id)}`);
      const response = await handleGeminiRequest(
        env,
        ctx,
        new Request(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", "x-goog-api-key": "test-key" },
        }),
        { endpoint: geminiEndpoint(), rest: url.pathname.slice("/gemini".length), search: url.search },
        TEST_SETTINGS,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("x-proxy-session-id")).toBeNull();
      expect(answerText((await readSse(response)).events)).toBe(ANSWER);
      await waitOnExecutionContext(ctx);
      const reqs = (await requests(id)).filter((r) => r.attempt !== null);
      expect(reqs).toHaveLength(1);
      expect(reqs[0]?.body).toEqual(JSON.parse(body));
    }
  });
});

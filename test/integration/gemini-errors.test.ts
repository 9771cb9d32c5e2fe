/** HTTP-level failures on protected Gemini routes: pass-through, retries, rate limits. */
import { describe, expect, it } from "vitest";
import {
  ANSWER,
  answerText,
  callGemini,
  prompt,
  readSse,
  requests,
  scenario,
  ssePath,
} from "./gemini-harness";

describe("Gemini anti-truncation: HTTP errors", () => {
  it.each([400, 401, 403])("passes an initial %i through unchanged", async (status) => {
    const id = await scenario({
      answer: ANSWER,
      attempts: [{ kind: "http-error", status, message: "bad thing" }],
    });
    const { response } = await callGemini(ssePath(id), prompt());
    expect(response.status).toBe(status);
    expect(response.headers.get("x-proxy-error")).toBeNull();
    const body = (await response.json()) as { error: { code: number; message: string } };
    expect(body.error).toMatchObject({ code: status, message: "bad thing" });
    expect((await requests(id)).filter((r) => r.attempt !== null)).toHaveLength(1);
  });

  it("passes a 404 for an unknown model through", async () => {
    const { response } = await callGemini(ssePath("no-such-model-xyz"), prompt());
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { status: string } }).error.status).toBe("NOT_FOUND");
  });

  it("retries a 503 before any byte, then streams normally", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "http-error", status: 503 }] });
    const { response } = await callGemini(ssePath(id), prompt());
    expect(response.status).toBe(200);
    expect(answerText((await readSse(response)).events)).toBe(ANSWER);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null);
    expect(reqs).toHaveLength(2);
    expect(reqs[1]?.body).toEqual(reqs[0]?.body);
  });

  it("waits for a 429's RetryInfo delay before retrying", async () => {
    const id = await scenario({
      answer: ANSWER,
      attempts: [{ kind: "http-error", status: 429, retryDelaySec: 1 }],
    });
    const { response } = await callGemini(ssePath(id), prompt());
    expect(answerText((await readSse(response)).events)).toBe(ANSWER);
    const reqs = (await requests(id)).filter((r) => r.attempt !== null) as unknown as {
      receivedAt: number;
      endedAt: number;
    }[];
    expect(reqs).toHaveLength(2);
    expect((reqs[1]?.receivedAt ?? 0) - (reqs[0]?.endedAt ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it("passes a 429 through when its delay is beyond the cap", async () => {
    const id = await scenario({
      answer: ANSWER,
      attempts: [{ kind: "http-error", status: 429, retryAfterSec: 3600 }],
    });
    const { response } = await callGemini(ssePath(id), prompt());
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3600");
    expect((await requests(id)).filter((r) => r.attempt !== null)).toHaveLength(1);
  });

  it("answers a real HTTP error when every attempt fails before any byte", async () => {
    const id = await scenario({ answer: ANSWER, defaultAttempt: { kind: "http-error", status: 503 } });
    const { response } = await callGemini(ssePath(id), prompt(), {
      bounds: { maxAttempts: 3, serverErrorBaseDelayMs: 5, serverErrorMaxDelayMs: 10 },
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { status: string } }).error.status).toBe("UNAVAILABLE");
    expect((await requests(id)).filter((r) => r.attempt !== null)).toHaveLength(3);
  });

  it("leaves non-generation routes untouched", async () => {
    const id = await scenario({ answer: ANSWER });
    const { response } = await callGemini(`/v1beta/models/${id}:countTokens`, prompt());
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-session-id")).toBeNull();
    expect(await response.json()).toHaveProperty("totalTokens");
  });
});

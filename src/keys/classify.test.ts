import { describe, expect, it } from "vitest";
import {
  classifyKeyResponse,
  KEY_EXHAUSTED_COOLDOWN_MS,
  KEY_RATE_LIMIT_DEFAULT_MS,
  KEY_RATE_LIMIT_MAX_MS,
} from "./classify";

const h = (init: Record<string, string> = {}) => new Headers(init);
const NOW = Date.parse("2026-12-01T00:00:00Z");
const geminiRetry = (delay: string) => ({
  error: {
    code: 429,
    status: "RESOURCE_EXHAUSTED",
    details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: delay }],
  },
});

describe("classifyKeyResponse", () => {
  it("rate limits take the provider's delay: retry-after-ms, Retry-After seconds or date, RetryInfo", () => {
    expect(classifyKeyResponse(429, h({ "retry-after-ms": "1500" }), null, NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 1500,
    });
    expect(classifyKeyResponse(429, h({ "retry-after": "7" }), null, NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 7000,
    });
    const date = new Date(NOW + 30_000).toUTCString();
    expect(classifyKeyResponse(429, h({ "retry-after": date }), null, NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 30_000,
    });
    expect(classifyKeyResponse(429, h(), geminiRetry("12.5s"), NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 12_500,
    });
    expect(classifyKeyResponse(429, h(), [geminiRetry("3s")], NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 3_000,
    });
  });

  it("defaults a 429 without a delay and caps a long one", () => {
    expect(classifyKeyResponse(429, h(), null, NOW).cooldownMs).toBe(KEY_RATE_LIMIT_DEFAULT_MS);
    expect(classifyKeyResponse(429, h({ "retry-after": "999999" }), null, NOW).cooldownMs).toBe(
      KEY_RATE_LIMIT_MAX_MS,
    );
  });

  it("401, 403 and Gemini's API_KEY_INVALID are invalid; other 400s are not about the key", () => {
    expect(classifyKeyResponse(401, h(), null, NOW).kind).toBe("invalid");
    expect(classifyKeyResponse(403, h(), null, NOW).kind).toBe("invalid");
    const gemini400 = {
      error: {
        code: 400,
        message: "API key not valid. Please pass a valid API key.",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
      },
    };
    expect(classifyKeyResponse(400, h(), gemini400, NOW).kind).toBe("invalid");
    expect(classifyKeyResponse(400, h(), { error: { message: "bad temperature" } }, NOW).kind).toBe("other");
  });

  it("402, insufficient_quota and a per-day Gemini quota are exhaustion", () => {
    expect(classifyKeyResponse(402, h(), null, NOW)).toEqual({
      kind: "exhausted",
      cooldownMs: KEY_EXHAUSTED_COOLDOWN_MS,
    });
    const openai = {
      error: {
        type: "insufficient_quota",
        code: "insufficient_quota",
        message: "You exceeded your current quota",
      },
    };
    expect(classifyKeyResponse(429, h(), openai, NOW).kind).toBe("exhausted");
    const daily = {
      error: {
        code: 429,
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [{ quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }],
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "20s" },
        ],
      },
    };
    expect(classifyKeyResponse(429, h(), daily, NOW)).toEqual({
      kind: "exhausted",
      cooldownMs: KEY_EXHAUSTED_COOLDOWN_MS,
    });
    const perMinute = structuredClone(daily);
    (perMinute.error.details[0] as { violations: { quotaId: string }[] }).violations[0]!.quotaId =
      "GenerateRequestsPerMinutePerProjectPerModel-FreeTier";
    expect(classifyKeyResponse(429, h(), perMinute, NOW)).toEqual({
      kind: "rate_limited",
      cooldownMs: 20_000,
    });
  });

  it("successes and unrelated errors", () => {
    expect(classifyKeyResponse(200, h(), null, NOW).kind).toBe("success");
    expect(classifyKeyResponse(503, h(), null, NOW).kind).toBe("other");
    expect(classifyKeyResponse(404, h(), null, NOW).kind).toBe("other");
  });
});

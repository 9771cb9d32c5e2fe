import { describe, expect, it } from "vitest";
import { serverErrorBackoffMs, upstreamRetryDelayMs } from "./retry-delay";

const h = (v: string | null) => new Headers(v === null ? {} : { "retry-after": v });

describe("upstreamRetryDelayMs", () => {
  it("prefers Google's RetryInfo", () => {
    const body = {
      error: {
        code: 429,
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "1.5s" }],
      },
    };
    expect(upstreamRetryDelayMs(h("30"), body, 0)).toBe(1500);
  });

  it("reads Retry-After seconds and dates", () => {
    expect(upstreamRetryDelayMs(h("2"), null, 0)).toBe(2000);
    const now = Date.parse("2026-11-26T08:00:00Z");
    expect(upstreamRetryDelayMs(h("Thu, 26 Nov 2026 08:00:05 GMT"), null, now)).toBe(5000);
  });

  it("returns null when nothing usable is given", () => {
    expect(upstreamRetryDelayMs(h(null), { error: { details: [{ retryDelay: "x" }] } }, 0)).toBeNull();
    expect(upstreamRetryDelayMs(h("soon"), null, 0)).toBeNull();
  });
});

describe("serverErrorBackoffMs", () => {
  it("doubles and caps", () => {
    expect([1, 2, 3, 4, 5].map((n) => serverErrorBackoffMs(n, 250, 1500))).toEqual([
      250, 500, 1000, 1500, 1500,
    ]);
  });
});

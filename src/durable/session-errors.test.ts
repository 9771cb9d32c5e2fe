import { describe, expect, it } from "vitest";
import { sessionErrorResponse, startErrorOf } from "./session-errors";

describe("session errors", () => {
  it("answers in the error JSON, naming the session object", async () => {
    const res = sessionErrorResponse("stream", 404, "no such session");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-proxy-error")).toBe("stream_session");
    expect(await res.json()).toEqual({
      error: { code: 404, status: "NOT_FOUND", message: "no such session" },
    });
  });

  it("a session without a first event failed to start (502)", () => {
    const { status, headers, body } = startErrorOf(null, "gemini");
    expect(status).toBe(502);
    expect(headers.get("x-proxy-error")).toBe("gemini_session");
    expect(JSON.parse(body).error.message).toBe("gemini session failed to start");
  });

  it("passes an upstream's own error through, with its retry-after", () => {
    const ev = {
      type: "http_error" as const,
      status: 429,
      body: "{}",
      contentType: "application/json",
      passthrough: true,
      reason: "rate_limited",
      retryAfter: "7",
    };
    const { status, headers, body } = startErrorOf(ev, "stream");
    expect([status, body, headers.get("retry-after"), headers.get("x-proxy-error")]).toEqual([
      429,
      "{}",
      "7",
      null,
    ]);
  });
});

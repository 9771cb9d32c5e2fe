import { describe, expect, it } from "vitest";
import { type AttemptObservation, classifyAttempt, isTerminalFinishReason } from "./outcome";

const base: AttemptObservation = {
  finishReason: null,
  blockReason: null,
  streamError: null,
  end: "eof",
  answerChars: 10,
  thoughtChars: 0,
  functionCalls: 0,
};

describe("classifyAttempt", () => {
  it("STOP with an answer is complete, even if the connection failed afterwards", () => {
    expect(classifyAttempt({ ...base, finishReason: "STOP" }).kind).toBe("complete");
    expect(classifyAttempt({ ...base, finishReason: "STOP", end: "read_error" }).kind).toBe("complete");
    expect(classifyAttempt({ ...base, finishReason: "STOP", answerChars: 0, functionCalls: 1 }).kind).toBe(
      "complete",
    );
  });

  it.each([
    ["eof", "no_finish_reason"],
    ["read_error", "read_error"],
    ["idle_timeout", "idle_timeout"],
    ["first_byte_timeout", "first_byte_timeout"],
  ] as const)("a stream ending by %s without finishReason is truncated (%s)", (end, reason) => {
    expect(classifyAttempt({ ...base, end })).toEqual({ kind: "truncated", reason });
  });

  it("OTHER and unknown reasons are truncation", () => {
    expect(classifyAttempt({ ...base, finishReason: "OTHER" }).kind).toBe("truncated");
    expect(classifyAttempt({ ...base, finishReason: "MALFORMED_FUNCTION_CALL" }).kind).toBe("truncated");
    expect(classifyAttempt({ ...base, finishReason: "SOMETHING_NEW" }).kind).toBe("truncated");
  });

  it("mid-stream 5xx/429 is truncation, mid-stream 4xx is fatal", () => {
    const err = (code: number) => ({ code, message: "x", status: "S" });
    expect(classifyAttempt({ ...base, streamError: err(503) }).kind).toBe("truncated");
    expect(classifyAttempt({ ...base, streamError: err(429) }).kind).toBe("truncated");
    expect(classifyAttempt({ ...base, streamError: err(400) }).kind).toBe("fatal");
  });

  it("empty and thought-only STOP", () => {
    expect(classifyAttempt({ ...base, finishReason: "STOP", answerChars: 0 }).kind).toBe("empty");
    expect(classifyAttempt({ ...base, finishReason: "STOP", answerChars: 0, thoughtChars: 5 }).kind).toBe(
      "thought_only",
    );
  });

  it("MAX_TOKENS passes through", () => {
    expect(classifyAttempt({ ...base, finishReason: "MAX_TOKENS" }).kind).toBe("max_tokens");
  });

  it.each(["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"])("%s is blocked", (r) => {
    expect(classifyAttempt({ ...base, finishReason: r })).toEqual({ kind: "blocked", reason: r });
    expect(isTerminalFinishReason(r)).toBe(true);
  });

  it("a prompt block is blocked whatever else happened", () => {
    expect(classifyAttempt({ ...base, blockReason: "SAFETY", end: "read_error" })).toEqual({
      kind: "blocked",
      reason: "SAFETY",
    });
  });
});

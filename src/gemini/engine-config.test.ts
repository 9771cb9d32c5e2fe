import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { parseGeminiEngineConfig } from "./engine-config";

describe("parseGeminiEngineConfig", () => {
  it("is empty when unset", () => {
    expect(parseGeminiEngineConfig(undefined)).toEqual({ bounds: {} });
    expect(parseGeminiEngineConfig("  ")).toEqual({ bounds: {} });
  });

  it("reads bounds and the grace period", () => {
    expect(parseGeminiEngineConfig('{"maxContinuations":6,"idleTimeoutMs":30000,"graceMs":5000}')).toEqual({
      bounds: { maxContinuations: 6, idleTimeoutMs: 30000 },
      graceMs: 5000,
    });
  });

  it.each(["[1]", "nope", '{"maxContinuation":1}', '{"maxAttempts":-1}', '{"deadlineMs":"1"}'])(
    "rejects %s naming the variable",
    (raw) => {
      expect(() => parseGeminiEngineConfig(raw)).toThrow(ConfigError);
      expect(() => parseGeminiEngineConfig(raw)).toThrow(/GEMINI_ENGINE/);
    },
  );
});

import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { parseConfig } from "./config";

const endpoints = (value: unknown) => parseConfig({ ENDPOINTS: JSON.stringify(value) }).endpoints;

describe("stream repair configuration (issue 12)", () => {
  it("is off by default, on with STREAM_REPAIR_ENABLED, with bounds from STREAM_REPAIR", () => {
    expect(parseConfig({}).streamRepair).toEqual({ enabled: false, bounds: {} });
    const config = parseConfig({
      STREAM_REPAIR_ENABLED: "yes",
      STREAM_REPAIR: '{"maxContinuations":2,"graceMs":500}',
    });
    expect(config.streamRepair).toEqual({ enabled: true, bounds: { maxContinuations: 2 }, graceMs: 500 });
  });

  it("names the variable of a bad value", () => {
    expect(() => parseConfig({ STREAM_REPAIR_ENABLED: "maybe" })).toThrow(/STREAM_REPAIR_ENABLED/);
    expect(() => parseConfig({ STREAM_REPAIR: '{"maxContinuation":2}' })).toThrow(
      /STREAM_REPAIR.*unknown field/,
    );
    expect(() => parseConfig({ STREAM_REPAIR: "[1]" })).toThrow(ConfigError);
  });

  it("reads repair and continuation per endpoint, with clear errors", () => {
    const e = endpoints({ mine: { targets: "https://a.example", repair: true, continuation: "partial" } });
    expect(e.get("mine")).toMatchObject({ repair: true, continuation: "partial" });
    expect(endpoints({ mine: "https://a.example" }).get("mine")?.repair).toBeUndefined();
    expect(() => endpoints({ mine: { targets: "https://a.example", repair: "on" } })).toThrow(
      /ENDPOINTS\.mine\.repair.*true or false/,
    );
    expect(() => endpoints({ mine: { targets: "https://a.example", continuation: "prefill" } })).toThrow(
      /ENDPOINTS\.mine\.continuation.*"prefix", "partial", "prompt"/,
    );
  });

  it("knows the presets that document assistant-prefix continuation", () => {
    const all = parseConfig({}).endpoints;
    expect(all.get("mistral")?.continuation).toBe("prefix");
    expect(all.get("moonshot")?.continuation).toBe("partial");
    expect(all.get("kimi")?.continuation).toBe("partial");
    expect(all.get("openai")?.continuation).toBeUndefined();
    // Replacing a preset keeps its method unless the entry names another.
    expect(endpoints({ mistral: { targets: "https://m.example" } }).get("mistral")?.continuation).toBe(
      "prefix",
    );
  });
});

import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { parseConfig } from "../worker/config";
import { DEFAULT_STREAM_GUARD, parseStreamGuardConfig } from "./guard-config";

describe("STREAM_GUARD", () => {
  it("defaults every bound and overrides the ones given", () => {
    expect(parseStreamGuardConfig(undefined)).toEqual(DEFAULT_STREAM_GUARD);
    expect(parseStreamGuardConfig("  ")).toEqual(DEFAULT_STREAM_GUARD);
    expect(parseStreamGuardConfig('{"holdMs":5000,"idleMs":60000}')).toEqual({
      ...DEFAULT_STREAM_GUARD,
      holdMs: 5000,
      idleMs: 60_000,
    });
    expect(parseStreamGuardConfig({ holdEvents: 8, holdBytes: 4096 })).toMatchObject({
      holdEvents: 8,
      holdBytes: 4096,
    });
  });

  it.each([
    ["not JSON", "{holdMs:1}", /STREAM_GUARD: must be a JSON object/],
    ["an array", "[1]", /must be a JSON object/],
    [
      "an unknown field",
      '{"holdMS":1}',
      /unknown field "holdMS" \(known: holdEvents, holdBytes, holdMs, idleMs\)/,
    ],
    ["zero", '{"holdMs":0}', /holdMs must be a whole number of milliseconds ≥ 1, got 0/],
    ["a fraction", '{"holdEvents":1.5}', /holdEvents must be a whole number of events ≥ 1, got 1.5/],
    ["a string", '{"holdBytes":"64k"}', /holdBytes must be a whole number of bytes ≥ 1, got "64k"/],
  ])("refuses %s with a message naming the variable", (_name, raw, message) => {
    expect(() => parseStreamGuardConfig(raw)).toThrow(ConfigError);
    expect(() => parseStreamGuardConfig(raw)).toThrow(message);
  });

  it("is part of the gateway configuration", () => {
    expect(parseConfig({ STREAM_GUARD: '{"holdMs":1234}' }).streamGuard.holdMs).toBe(1234);
    expect(parseConfig({}).streamGuard).toEqual(DEFAULT_STREAM_GUARD);
    expect(() => parseConfig({ STREAM_GUARD: '{"idleMs":-1}' })).toThrow(/STREAM_GUARD/);
  });
});

import { describe, expect, it } from "vitest";
import {
  DEFAULT_RELAY_SETTINGS,
  decodeRelayInit,
  encodeRelayInit,
  resolveRelaySettings,
} from "./relay-settings";

describe("relay settings", () => {
  it("fills defaults and rejects non-positive values", () => {
    expect(resolveRelaySettings()).toEqual(DEFAULT_RELAY_SETTINGS);
    expect(resolveRelaySettings({ idleTimeoutMs: 50 }).idleTimeoutMs).toBe(50);
    expect(resolveRelaySettings({ maxResumeAttempts: 0 }).maxResumeAttempts).toBe(0);
    expect(resolveRelaySettings({ maxResumesPerWindow: 0 }).maxResumesPerWindow).toBe(0);
    expect(() => resolveRelaySettings({ resumeWindowMs: 0 })).toThrow(RangeError);
    expect(() => resolveRelaySettings({ maxMessageBytes: 0 })).toThrow(RangeError);
    expect(() => resolveRelaySettings({ idleTimeoutMs: Number.NaN })).toThrow(RangeError);
  });

  it("round-trips the init through an ASCII header value", () => {
    const init = {
      target: {
        upstreamUrl: "wss://h.example/ws/é?key=k%2F1",
        transport: "socket" as const,
        endpointName: "gemini",
        geminiLive: true,
      },
      settings: resolveRelaySettings({ maxMessageBytes: 1000 }),
    };
    const header = encodeRelayInit(init);
    expect(header).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeRelayInit(header)).toEqual(init);
    expect(decodeRelayInit(null)).toBeNull();
    expect(decodeRelayInit("%7Bnot json")).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { streamFlagOf } from "./request-stream-flag";

const flag = (text: string) => streamFlagOf(new TextEncoder().encode(text));

describe("streamFlagOf", () => {
  it("reads a top-level stream member", () => {
    expect(flag('{"model":"m","stream":true,"messages":[]}')).toBe(true);
    expect(flag('{ "stream" : false }')).toBe(false);
    expect(flag('{"model":"m"}')).toBe(false);
    expect(flag('\n {\n  "messages": [{"role":"user","content":"hi"}],\n  "stream":\ttrue\n}')).toBe(true);
  });

  it("ignores nested members, values and strings that look like the key", () => {
    expect(flag('{"metadata":{"stream":true},"model":"m"}')).toBe(false);
    expect(flag('{"messages":[{"stream":true}]}')).toBe(false);
    expect(flag('{"model":"stream","content":"\\"stream\\": true"}')).toBe(false);
    expect(flag('{"x":"a\\\\","stream":true}')).toBe(true);
    expect(flag('{"stream_options":{"include_usage":true}}')).toBe(false);
  });

  it("the last occurrence wins, as with JSON.parse; a non-boolean is not streaming", () => {
    expect(flag('{"stream":true,"stream":false}')).toBe(false);
    expect(flag('{"stream":"true"}')).toBe(false);
  });

  it("returns null for a body that is not a JSON object", () => {
    expect(flag("")).toBeNull();
    expect(flag("[1,2]")).toBeNull();
    expect(flag('{"stream":true')).toBeNull();
  });

  it("agrees with JSON.parse on generated objects", () => {
    for (let i = 0; i < 200; i++) {
      const value: Record<string, unknown> = { model: `m${i}`, nested: { stream: i % 2 === 0 } };
      if (i % 3 !== 0) value.stream = i % 5 === 0;
      if (i % 7 === 0) value.messages = [{ role: "user", content: `say "stream": ${i}` }];
      const text = JSON.stringify(value, null, i % 4);
      expect(flag(text)).toBe(value.stream === true);
    }
  });
});

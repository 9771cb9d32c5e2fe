import { describe, expect, it } from "vitest";
import { redact } from "./log";

describe("redact", () => {
  it("removes configured secrets, ?key= values and key shapes", () => {
    const text = "GET /tok123/https/h/x?alt=sse&key=AIzaSyA-very-secret-value_123 Bearer sk-abcdefghijkl";
    const out = redact(text, ["tok123"]);
    expect(out).not.toContain("tok123");
    expect(out).not.toContain("AIzaSyA");
    expect(out).not.toContain("sk-abcdefghijkl");
    expect(out).toContain("alt=sse");
    expect(out).toContain("key=[redacted]");
  });
});

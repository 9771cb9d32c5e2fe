import { describe, expect, it } from "vitest";
import { constantTimeEqual, isValidToken } from "./auth";

describe("constantTimeEqual", () => {
  it("compares exactly, whatever the lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual("ü", "u")).toBe(false);
  });

  it("accepts nothing when no token is configured", () => {
    expect(isValidToken(null, "")).toBe(false);
    expect(isValidToken("t", null)).toBe(false);
    expect(isValidToken("t", "t")).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { parseKeyPoolText } from "./pool-config";

describe("parseKeyPoolText", () => {
  it("reads one key per line with optional weights, skipping blanks and # comments", () => {
    const text = "# free tier\n\n  key-one  \nkey-two weight=3\r\n# key-off\nkey-three\tweight=0.5\n";
    expect(parseKeyPoolText("POOL", text)).toEqual([
      { key: "key-one", weight: 1 },
      { key: "key-two", weight: 3 },
      { key: "key-three", weight: 0.5 },
    ]);
  });

  it("names the secret and line for a bad option or weight, never the key", () => {
    const bad = (text: string) => {
      try {
        parseKeyPoolText("GEMINI_KEYS", text);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    const extra = bad("good-key\nsecret-abc extra");
    expect(extra).toContain("GEMINI_KEYS line 2");
    expect(extra).not.toContain("secret-abc");
    const zero = bad("secret-abc weight=0");
    expect(zero).toContain("GEMINI_KEYS line 1");
    expect(zero).toContain("positive");
    expect(zero).not.toContain("secret-abc");
    expect(bad("secret-abc weight=x")).toContain('"x"');
  });

  it("refuses a secret with no key", () => {
    expect(() => parseKeyPoolText("K", "# only comments\n\n")).toThrow(/K: the key pool secret holds no key/);
  });
});

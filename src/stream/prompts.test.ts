import { describe, expect, it } from "vitest";
import { detectLanguage } from "./language";
import {
  DEFAULT_RETRY_PROMPTS,
  PROMPT_LANGUAGES,
  renderRetryPrompt,
  resolveRetryPrompts,
  TAIL_PLACEHOLDER,
} from "./prompts";

describe("retry prompts", () => {
  it("every default prompt has the tail placeholder and is written in its own language", () => {
    for (const lang of PROMPT_LANGUAGES) {
      const p = DEFAULT_RETRY_PROMPTS[lang];
      expect(p).toContain(TAIL_PLACEHOLDER);
      expect(detectLanguage(p.replace(TAIL_PLACEHOLDER, ""))).toBe(lang);
    }
  });

  it("overrides replace only their language; empty values count as unset", () => {
    const r = resolveRetryPrompts({ en: "Go on from: {{tail}}", ja: "  ", ko: "" });
    expect(r.en).toBe("Go on from: {{tail}}");
    expect(r.cn).toBe(DEFAULT_RETRY_PROMPTS.cn);
    expect(r.ja).toBe(DEFAULT_RETRY_PROMPTS.ja);
    expect(r.ko).toBe(DEFAULT_RETRY_PROMPTS.ko);
    expect(resolveRetryPrompts({})).toEqual(DEFAULT_RETRY_PROMPTS);
  });

  it("does not mutate the defaults", () => {
    const before = { ...DEFAULT_RETRY_PROMPTS };
    resolveRetryPrompts({ cn: "继续" }).cn = "x";
    expect(DEFAULT_RETRY_PROMPTS).toEqual(before);
  });

  it("renders the tail literally, every occurrence, without $-pattern substitution", () => {
    expect(renderRetryPrompt("A {{tail}} B {{tail}}", "$& $1 $$")).toBe("A $& $1 $$ B $& $1 $$");
  });

  it("appends a quoted tail when the template has no placeholder", () => {
    expect(renderRetryPrompt("Continue.", "the end")).toBe('Continue.\n\n"""\nthe end\n"""');
  });
});

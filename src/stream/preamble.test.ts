import { describe, expect, it } from "vitest";
import { matchPreamble, PREAMBLE_MAX_CHARS } from "./preamble";

/** The text left after stripping the preamble at the end of the stream. */
const strip = (text: string, final = true): string => {
  const m = matchPreamble(text, final);
  return m.kind === "strip" ? text.slice(m.length) : text;
};

describe("matchPreamble", () => {
  it.each([
    ["Sure, here's the continuation:\n\nworld", "world"],
    ["Sure! Here is the rest of the story:\nworld", "world"],
    ["Okay, here’s the remaining text: world", "world"],
    ["Continuing from where I left off:\n\nworld", "world"],
    ["Continuing from where I left off.\nworld", "world"],
    ["I'll continue from where the text stopped:\nworld", "world"],
    ["Let me continue the story:\nworld", "world"],
    ["Certainly. Continuing where we stopped...\nworld", "world"],
    ["(continued)\nworld", "world"],
    ["Continued:\nworld", "world"],
    ["  Sure!\n\nworld", "world"],
    ["好的，继续：\n世界", "世界"],
    ["好的，我继续写：世界", "世界"],
    ["以下是续写：\n\n世界", "世界"],
    ["下面是剩余的内容：\n世界", "世界"],
    ["继续：世界", "世界"],
    ["接着上文继续写：\n世界", "世界"],
    ["好的。\n世界", "世界"],
    ["はい、続きを書きます。\n世界", "世界"],
    ["以下は続きです：\n世界", "世界"],
    ["承知しました。\n世界", "世界"],
    ["途切れたところから続けます。\n世界", "世界"],
    ["네, 이어서 작성하겠습니다.\n\n세계", "세계"],
    ["다음은 이어지는 내용입니다:\n세계", "세계"],
    ["중단된 부분부터 이어서 작성하겠습니다.\n세계", "세계"],
  ])("strips %j", (text, rest) => {
    expect(strip(text, false)).toBe(rest);
  });

  it.each([
    "continue to grow.\nNext",
    " continuing from the start.\nNext",
    "world, and the fox ran.",
    "Here we go: the fox ran.", // "here" without a continuation phrase
    "继续努力。\n下面",
    "我们继续前进。\n",
    "以下の点に注意してください：\n1.",
    "계속 노력해야 합니다.\n",
    "Sure enough, the fox ran away.\n",
    "The rest of the day was quiet.\n",
  ])("keeps ordinary text %j", (text) => {
    expect(strip(text)).toBe(text);
  });

  it("waits while the start could still become a preamble", () => {
    expect(matchPreamble("Su", false).kind).toBe("pending");
    expect(matchPreamble("Sure, here's the", false).kind).toBe("pending");
    expect(matchPreamble("好的", false).kind).toBe("pending");
    expect(matchPreamble("  ", false).kind).toBe("pending");
    expect(matchPreamble("world", false).kind).toBe("none");
    expect(matchPreamble("Sure thing\nabc", false).kind).toBe("none"); // line ended without a match
  });

  it("at the end of the stream the end of text terminates a preamble", () => {
    expect(matchPreamble("Sure, here's the continuation:", true)).toEqual({ kind: "strip", length: 30 });
    expect(matchPreamble("好的，继续。", true).kind).toBe("strip");
    expect(matchPreamble("Sure, here's the", true).kind).toBe("none");
  });

  it("gives up waiting after PREAMBLE_MAX_CHARS", () => {
    expect(matchPreamble(`Sure ${"a".repeat(PREAMBLE_MAX_CHARS)}`, false).kind).toBe("none");
  });
});

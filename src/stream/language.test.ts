import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detectLanguage, detectLanguageOrNull, MAX_SCAN_CHARS } from "./language";

// A fixed seed keeps the property tests deterministic (CI reruns see the same cases).
fc.configureGlobal({ seed: 20261126 });

describe("detectLanguage", () => {
  it.each([
    ["Write a long essay about the history of Rome.", "en"],
    ["请写一篇关于罗马历史的长文。", "cn"],
    ["請寫一篇關於羅馬歷史的長文。", "cn"], // traditional
    ["ローマの歴史について長いエッセイを書いてください。", "ja"],
    ["로마의 역사에 대한 긴 에세이를 써 주세요.", "ko"],
    ["Bonjour, écrivez un essai sur l'histoire de Rome.", "en"], // other Latin-script languages: English prompt
  ])("%s → %s", (text, lang) => {
    expect(detectLanguage(text)).toBe(lang);
  });

  it("Japanese with many kanji and only a little kana is Japanese", () => {
    expect(detectLanguage("東京都庁舎建築設計概要説明書作成依頼の件について")).toBe("ja");
    expect(detectLanguage("経済産業省資源エネルギー庁電力需給対策本部会議資料")).toBe("ja"); // katakana only
  });

  it("a lone kana in a long Chinese text is a quotation, not Japanese", () => {
    const zh =
      "我们今天讨论的是中国古代历史中的一个重要问题，也就是关于秦朝统一六国以后在政治经济文化等各个方面所采取的措施";
    expect(detectLanguage(`${zh}の`)).toBe("cn");
  });

  it("Korean with some Hanja is Korean", () => {
    expect(detectLanguage("大韓民國 헌법 제1조에 대해 설명해 주세요")).toBe("ko");
  });

  it("mixed CJK and English: each CJK character weighs about a short word", () => {
    expect(detectLanguage("请解释一下 React 的 useEffect hook")).toBe("cn");
    expect(detectLanguage("How do I say hello in Chinese? Is it 你好?")).toBe("en");
  });

  it("ignores code blocks, inline code and URLs", () => {
    const text =
      "帮我看看这段代码有什么问题：\n```ts\nconst answer = computeTheAnswerForEverything(input, options);\n```\n`someVeryLongIdentifierName` https://example.com/a/very/long/english/path";
    expect(detectLanguage(text)).toBe("cn");
  });

  it("defaults to English for text without letters", () => {
    expect(detectLanguage("")).toBe("en");
    expect(detectLanguage("12345 !!! 🎉🎉")).toBe("en");
    expect(detectLanguageOrNull("12345 🎉")).toBeNull();
  });

  it("looks only at the recent end of a very long text", () => {
    const text = `${"english words ".repeat(MAX_SCAN_CHARS)}${"中文内容".repeat(2000)}`;
    expect(detectLanguage(text)).toBe("cn");
  });

  it("property: any string containing hiragana and no Hangul, mostly CJK, is Japanese", () => {
    const kana = fc.constantFrom(..."あいうえおかきくけこのをはがでに");
    const han = fc.constantFrom(..."東京都庁舎建築設計概要説明書");
    fc.assert(
      fc.property(fc.array(han, { maxLength: 40 }), kana, fc.array(kana, { maxLength: 5 }), (h, k, ks) => {
        expect(detectLanguage([...h, k, ...ks].join(""))).toBe("ja");
      }),
    );
  });

  it("property: never throws and always returns one of the four languages", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(["cn", "en", "ja", "ko"]).toContain(detectLanguage(s));
      }),
    );
  });
});

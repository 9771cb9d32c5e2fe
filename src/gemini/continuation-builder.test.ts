import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_PROMPTS } from "../stream/prompts";
import {
  buildContinuationRequest,
  buildRestartRequest,
  conversationLanguage,
  MIN_CONTINUATION_OUTPUT_TOKENS,
  quotedTail,
  reducedMaxOutputTokens,
  TAIL_QUOTE_CHARS,
} from "./continuation-builder";
import type { Content, GenerateContentRequest } from "./types";

// A fixed seed keeps the property tests deterministic (CI reruns see the same cases).
fc.configureGlobal({ seed: 20261126 });

const prompts = { cn: "CN {{tail}}", en: "EN {{tail}}", ja: "JA {{tail}}", ko: "KO {{tail}}" };
const user = (text: string): Content => ({ role: "user", parts: [{ text }] });
const model = (text: string): Content => ({ role: "model", parts: [{ text }] });

/** Gemini's rule: roles alternate user/model (function turns are on the user side) and the last turn is a user turn. */
function assertValidTurnOrder(contents: Content[]): void {
  const side = (c: Content) => (c.role === "model" ? "model" : "user");
  for (let i = 1; i < contents.length; i++) {
    expect(side(contents[i]!), `turn ${i}`).not.toBe(side(contents[i - 1]!));
  }
  expect(side(contents[contents.length - 1]!)).toBe("user");
}

describe("buildContinuationRequest", () => {
  const original: GenerateContentRequest = {
    contents: [user("Write a story about a fox.")],
    systemInstruction: { parts: [{ text: "You are a writer." }] },
    generationConfig: { maxOutputTokens: 2000, temperature: 0.7, thinkingConfig: { includeThoughts: true } },
    safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
  };

  it("appends exactly the answer text as a model turn and a prompt quoting the tail", () => {
    const before = structuredClone(original);
    const req = buildContinuationRequest(original, "Once upon a time, a fox", {
      prompts,
      producedOutputTokens: 300,
    });
    expect(original).toEqual(before); // not mutated
    expect(req.contents).toEqual([
      user("Write a story about a fox."),
      model("Once upon a time, a fox"),
      user("EN Once upon a time, a fox"),
    ]);
    expect(req.generationConfig?.maxOutputTokens).toBe(1700);
    expect(req.generationConfig?.temperature).toBe(0.7);
    expect(req.systemInstruction).toEqual(original.systemInstruction);
    expect(req.safetySettings).toEqual(original.safetySettings);
  });

  it("never carries thought parts or signatures in the new model turn", () => {
    const req = buildContinuationRequest(original, "answer", { prompts, producedOutputTokens: 0 });
    const added = req.contents[1]!;
    expect(added.parts).toEqual([{ text: "answer" }]);
  });

  it("merges into a trailing model (prefill) turn instead of adding a second model turn", () => {
    const o: GenerateContentRequest = { contents: [user("Count to ten."), model("One, two,")] };
    const req = buildContinuationRequest(o, " three, four", { prompts, producedOutputTokens: 5 });
    expect(req.contents).toEqual([
      user("Count to ten."),
      { role: "model", parts: [{ text: "One, two," }, { text: " three, four" }] },
      user("EN  three, four"),
    ]);
    expect(o.contents[1]!.parts).toHaveLength(1);
    assertValidTurnOrder(req.contents);
  });

  it("after a functionResponse turn (role user or legacy function) adds model then user", () => {
    for (const role of ["user", "function"]) {
      const o: GenerateContentRequest = {
        contents: [
          user("Weather in Paris?"),
          {
            role: "model",
            parts: [{ functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "sig" }],
          },
          { role, parts: [{ functionResponse: { name: "weather", response: { temp: 21 } } }] },
        ],
      };
      const req = buildContinuationRequest(o, "It is 21 degrees", { prompts, producedOutputTokens: 0 });
      expect(req.contents.slice(3)).toEqual([model("It is 21 degrees"), user("EN It is 21 degrees")]);
      expect(req.contents[1]).toEqual(o.contents[1]); // the function call turn keeps its signature
      assertValidTurnOrder(req.contents);
    }
  });

  it("prompts in the language of the user's conversation", () => {
    const cases: Array<[string, string]> = [
      ["请写一个关于狐狸的故事", "CN"],
      ["キツネの物語を書いてください", "JA"],
      ["여우에 대한 이야기를 써 주세요", "KO"],
      ["Tell me a story", "EN"],
    ];
    for (const [text, prefix] of cases) {
      const req = buildContinuationRequest({ contents: [user(text)] }, "x", {
        prompts,
        producedOutputTokens: 0,
      });
      expect(req.contents[2]!.parts[0]!.text).toBe(`${prefix} x`);
    }
  });

  it("language: last user turn with letters, then earlier turns, system instruction, answer", () => {
    expect(conversationLanguage({ contents: [user("你好，请帮忙"), model("ok"), user("12345")] })).toBe("cn");
    expect(
      conversationLanguage({
        contents: [user("123")],
        systemInstruction: { parts: [{ text: "日本語で答えてください" }] },
      }),
    ).toBe("ja");
    expect(conversationLanguage({ contents: [user("123")] }, "답변입니다")).toBe("ko");
    expect(conversationLanguage({ contents: [user("123")] })).toBe("en");
    expect(conversationLanguage({ contents: [user("Translate into English please"), user("")] })).toBe("en");
  });

  it("uses the default prompts with the quoted tail", () => {
    const req = buildContinuationRequest({ contents: [user("hi")] }, "Hello there", {
      prompts: DEFAULT_RETRY_PROMPTS,
      producedOutputTokens: 0,
    });
    const text = req.contents[2]!.parts[0]!.text!;
    expect(text).toContain('"""\nHello there\n"""');
    expect(text).not.toContain("{{tail}}");
  });

  it("quotes only the last TAIL_QUOTE_CHARS code points, starting after whitespace, never splitting emoji", () => {
    const long = `${"word ".repeat(100)}🦊🦊 终`;
    const tail = quotedTail(long);
    expect(long.endsWith(tail)).toBe(true);
    expect(Array.from(tail).length).toBeLessThanOrEqual(TAIL_QUOTE_CHARS);
    expect(tail.startsWith("word")).toBe(true);
    const emoji = "🦊".repeat(300);
    expect(quotedTail(emoji)).toBe("🦊".repeat(TAIL_QUOTE_CHARS));
    expect(quotedTail("short")).toBe("short");
  });

  it("empty answer text means a restart", () => {
    const req = buildContinuationRequest(original, "", { prompts, producedOutputTokens: 100 });
    expect(req.contents).toEqual(original.contents);
    expect(req.generationConfig?.maxOutputTokens).toBe(1900);
  });

  it("leaves maxOutputTokens unset when the client did not set it", () => {
    const req = buildContinuationRequest({ contents: [user("hi")] }, "a", {
      prompts,
      producedOutputTokens: 10_000,
    });
    expect(req.generationConfig).toBeUndefined();
    const req2 = buildContinuationRequest(
      { contents: [user("hi")], generationConfig: { temperature: 1 } },
      "a",
      {
        prompts,
        producedOutputTokens: 10,
      },
    );
    expect(req2.generationConfig).toEqual({ temperature: 1 });
  });

  it("property: any conversation shape yields a valid turn order, the original untouched", () => {
    const part = fc.oneof(
      fc.record({ text: fc.string() }),
      fc.constant({ functionResponse: { name: "f", response: {} } }),
    );
    const content = fc.record({
      role: fc.constantFrom("user", "model", "function"),
      parts: fc.array(part, { minLength: 1, maxLength: 3 }),
    });
    // A valid original conversation alternates sides; the generator builds one from random turns.
    const conversation = fc.array(content, { minLength: 1, maxLength: 6 }).map((cs) => {
      const out: Content[] = [];
      for (const c of cs) {
        const side = (x: Content) => (x.role === "model" ? "model" : "user");
        if (out.length === 0 && c.role === "model") continue;
        if (out.length > 0 && side(out[out.length - 1]!) === side(c)) continue;
        out.push(c);
      }
      return out.length === 0 ? [user("q")] : out;
    });
    fc.assert(
      fc.property(conversation, fc.string({ minLength: 1, unit: "grapheme" }), (contents, answer) => {
        const o = { contents };
        const snapshot = structuredClone(o);
        const req = buildContinuationRequest(o, answer, { prompts, producedOutputTokens: 1 });
        expect(o).toEqual(snapshot);
        assertValidTurnOrder(req.contents);
        const modelTurn = req.contents[req.contents.length - 2]!;
        expect(modelTurn.parts[modelTurn.parts.length - 1]).toEqual({ text: answer });
      }),
    );
  });
});

describe("maxOutputTokens budget", () => {
  it("reduces by what was produced, never below the floor nor above the original", () => {
    expect(reducedMaxOutputTokens(8192, 1000)).toBe(7192);
    expect(reducedMaxOutputTokens(8192, 8100)).toBe(MIN_CONTINUATION_OUTPUT_TOKENS);
    expect(reducedMaxOutputTokens(8192, 99_999)).toBe(MIN_CONTINUATION_OUTPUT_TOKENS);
    expect(reducedMaxOutputTokens(100, 50)).toBe(100); // the floor is capped by the client's own value
    expect(reducedMaxOutputTokens(undefined, 50)).toBeUndefined();
    expect(reducedMaxOutputTokens(1000, -5)).toBe(1000);
  });

  it("property: the result is within [min(original, floor), original]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        (max, produced) => {
          const r = reducedMaxOutputTokens(max, produced)!;
          expect(r).toBeLessThanOrEqual(max);
          expect(r).toBeGreaterThanOrEqual(Math.min(max, MIN_CONTINUATION_OUTPUT_TOKENS));
        },
      ),
    );
  });
});

describe("buildRestartRequest", () => {
  it("is a copy of the original, budget reduced only when told what was produced", () => {
    const o: GenerateContentRequest = { contents: [user("hi")], generationConfig: { maxOutputTokens: 1000 } };
    const a = buildRestartRequest(o, {});
    expect(a).toEqual(o);
    expect(a).not.toBe(o);
    expect(a.contents).not.toBe(o.contents);
    expect(buildRestartRequest(o, { producedOutputTokens: 400 }).generationConfig?.maxOutputTokens).toBe(600);
    expect(o.generationConfig?.maxOutputTokens).toBe(1000);
  });
});

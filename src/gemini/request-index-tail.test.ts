import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentTextTail, indexGenerateContentRequest } from "./request-index";

fc.configureGlobal({ seed: 20261206 });

const enc = new TextEncoder();

/** What the language detection read before: the content parsed whole, its texts joined (`textOf`). */
function textOfParsed(json: string): string {
  const content = JSON.parse(json) as { parts?: { text?: unknown; thought?: unknown }[] };
  return (content.parts ?? [])
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text)
    .join("\n");
}

/** JSON text of `s` with some characters written as `\uXXXX` (JSON.stringify writes non-ASCII raw). */
function escapedJson(s: string, escapeEvery: number): string {
  let out = '"';
  let i = 0;
  for (const unit of s) {
    for (let k = 0; k < unit.length; k++) {
      const code = unit.charCodeAt(k);
      const plain = JSON.stringify(unit[k] ?? "").slice(1, -1);
      out += escapeEvery > 0 && i++ % escapeEvery === 0 ? `\\u${code.toString(16).padStart(4, "0")}` : plain;
    }
  }
  return `${out}"`;
}

/** Reads the first content of `contents: [content]`, as the session does. */
function tailOf(contentJson: string, units: number): string {
  const bytes = enc.encode(`{"contents":[${contentJson}]}`);
  const index = indexGenerateContentRequest(bytes);
  if (index === null) throw new Error(`not indexable: ${contentJson}`);
  return contentTextTail(bytes, index.contents.items[0]!, units);
}

const tricky = fc.constantFrom(
  "a",
  "é",
  "中",
  "😀",
  "\\",
  '"',
  "\n",
  "\t",
  "/",
  "\u0001",
  " ",
  "\ud83d",
  "b",
);

describe("contentTextTail", () => {
  it("is the tail of the parsed content's text, for any text, escapes and cut position", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            text: fc.oneof(
              fc.array(tricky, { maxLength: 300 }).map((a) => a.join("")),
              fc.constant(null),
            ),
            thought: fc.constantFrom(undefined, true, false, "true"),
            escapeEvery: fc.integer({ min: 0, max: 5 }),
          }),
          { maxLength: 5 },
        ),
        fc.integer({ min: 0, max: 60 }),
        (parts, units) => {
          const json = `{"role":"user","parts":[${parts
            .map((p) => {
              const text = p.text === null ? "7" : escapedJson(p.text, p.escapeEvery);
              const thought = p.thought === undefined ? "" : `,"thought":${JSON.stringify(p.thought)}`;
              return `{"text":${text}${thought}}`;
            })
            .join(",")}]}`;
          const full = textOfParsed(json);
          expect(tailOf(json, units)).toBe(full.slice(Math.max(0, full.length - units)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("cuts inside runs of backslashes and \\u escapes at the right place", () => {
    for (const text of [
      "\\".repeat(301),
      `x${"\\".repeat(300)}`,
      "\ud83d\ude00".repeat(150),
      "é\n".repeat(200),
    ]) {
      for (const escapeEvery of [0, 1, 2]) {
        const json = `{"parts":[{"text":${escapedJson(text, escapeEvery)}}]}`;
        for (const units of [1, 2, 3, 7, 40])
          expect(tailOf(json, units)).toBe(text.slice(text.length - units));
      }
    }
  });

  it("reads what JSON.parse keeps: the last of duplicated members, other members skipped", () => {
    const json =
      '{"parts":[{"text":"first","text":"second"},{"thought":true,"text":"hidden","thought":false},' +
      '{"text":"gone","thought":true},{"inlineData":{"data":"QUJD"}},7,null],"role":"user"}';
    expect(tailOf(json, 1000)).toBe("second\nhidden");
    // A system instruction is not validated as a content: no parts, or not an object, is no text.
    for (const other of ['{"role":"user"}', '{"parts":"x"}', '"text"', "[]"]) {
      expect(contentTextTail(enc.encode(other), { start: 0, end: enc.encode(other).length }, 10)).toBe("");
    }
  });

  it("decodes only the tail of a long text, not the whole content", () => {
    const text = `${"lorem ipsum ".repeat(500_000)}中文结尾`;
    const tail = tailOf(`{"parts":[{"text":${JSON.stringify(text)}}]}`, 20_000);
    expect(tail).toBe(text.slice(text.length - 20_000));
  });
});

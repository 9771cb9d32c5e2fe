import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexGenerateContentRequest, MAX_DEPTH } from "./request-index";

fc.configureGlobal({ seed: 20261206 });

const enc = new TextEncoder();
const index = (text: string | Uint8Array) =>
  indexGenerateContentRequest(typeof text === "string" ? enc.encode(text) : text);
const slice = (text: string, span: { start: number; end: number }) =>
  new TextDecoder().decode(enc.encode(text).subarray(span.start, span.end));

describe("indexGenerateContentRequest", () => {
  it("finds contents, each content's role and parts, generationConfig and systemInstruction", () => {
    const text =
      '{ "systemInstruction": {"parts":[{"text":"Be brief."}]},\n "contents" : [ {"role":"user","parts":[{"text":"Hi"}]},' +
      ' {"parts": [], "role": "model"} ] , "generationConfig":{"maxOutputTokens":10} }';
    const idx = index(text)!;
    expect(slice(text, idx.contents)).toMatch(/^\[ \{"role".*\} \]$/);
    expect(idx.contents.items.map((c) => c.role)).toEqual(["user", "model"]);
    expect(idx.contents.items.map((c) => c.parts.count)).toEqual([1, 0]);
    expect(slice(text, idx.contents.items[1]!.parts)).toBe("[]");
    expect(idx.generationConfig?.value).toEqual({ maxOutputTokens: 10 });
    expect(slice(text, idx.systemInstruction!)).toBe('{"parts":[{"text":"Be brief."}]}');
  });

  it("refuses what cannot be indexed unambiguously", () => {
    for (const bad of [
      "",
      "[]",
      '{"contents":{}}',
      '{"contents":[1]}',
      '{"contents":[{"role":"user"}]}',
      '{"contents":[{"parts":{}}]}',
      '{"contents":[],"contents":[]}',
      '{"contents":[{"parts":[],"parts":[]}]}',
      '{"contents":[]} x',
      '{"contents":[],}',
      '{"contents":[01]}',
      '{"contents":[], "a": "\\x"}',
      '{"contents":[], "a": "tab\there"}',
      '{"generationConfig":{}}',
    ]) {
      expect(index(bad), bad).toBeNull();
    }
    // Invalid UTF-8 inside a string (a lone continuation byte, an overlong, a surrogate).
    for (const bytes of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const body = new Uint8Array([...enc.encode('{"contents":[],"x":"'), ...bytes, ...enc.encode('"}')]);
      expect(index(body)).toBeNull();
    }
    const deep = `{"contents":[],"x":${"[".repeat(MAX_DEPTH + 5)}${"]".repeat(MAX_DEPTH + 5)}}`;
    expect(index(deep)).toBeNull();
  });

  it("property: accepts exactly the JSON that JSON.parse accepts, for requests with contents", () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(
        json,
        fc.array(fc.record({ role: fc.string(), parts: fc.array(json) })),
        (extra, contents) => {
          const text = JSON.stringify({ extra, contents });
          const idx = index(text);
          expect(idx).not.toBeNull();
          expect(idx!.contents.items).toHaveLength(contents.length);
          expect(JSON.parse(slice(text, idx!.contents))).toEqual(contents);
        },
      ),
      { numRuns: 300 },
    );
    // Random text around a valid request: the scanner never accepts what JSON.parse refuses.
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const text = `${before}{"contents":[]}${after}`;
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        if (!valid) expect(index(text)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

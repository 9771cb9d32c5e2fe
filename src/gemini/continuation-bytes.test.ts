import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../transport/bytes";
import { buildContinuationRequest, buildRestartRequest } from "./continuation-builder";
import {
  buildContinuationBody,
  buildRestartBody,
  type EncodedRequest,
  encodedRequest,
} from "./continuation-bytes";
import type { Content, GenerateContentRequest } from "./types";

fc.configureGlobal({ seed: 20261206 });

const prompts = { cn: "CN {{tail}}", en: "EN {{tail}}", ja: "JA {{tail}}", ko: "KO {{tail}}" };
const user = (text: string): Content => ({ role: "user", parts: [{ text }] });
const model = (text: string): Content => ({ role: "model", parts: [{ text }] });
const enc = new TextEncoder();

function encode(text: string): EncodedRequest {
  const r = encodedRequest(enc.encode(text));
  if (r === null) throw new Error(`not indexable: ${text}`);
  return r;
}

const parsed = (r: EncodedRequest): unknown =>
  JSON.parse(new TextDecoder().decode(concatBytes(r.pieces as Uint8Array[], r.byteLength)));

/** Every original byte the result carries is a view into the original buffer, never a copy. */
function originalBytesReused(r: EncodedRequest): number {
  return r.pieces.filter((p) => p.buffer === r.original.bytes.buffer).reduce((n, p) => n + p.length, 0);
}

const SAMPLES: GenerateContentRequest[] = [
  {
    contents: [user("Write a story about a fox.")],
    systemInstruction: { parts: [{ text: "You are a writer." }] },
    generationConfig: { maxOutputTokens: 2000, temperature: 0.7, thinkingConfig: { includeThoughts: true } },
    safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
  },
  { contents: [user("Hi"), model("Hello! How can I help?"), user("Tell me a joke.")] },
  { contents: [user("Complete this:"), model("Once upon a")], generationConfig: { maxOutputTokens: 100 } },
  { contents: [user("x"), { role: "model", parts: [] }] },
  {
    generationConfig: { temperature: 1 },
    contents: [
      user("call it"),
      { role: "model", parts: [{ functionCall: { name: "f", args: { a: 1 } } }] },
      { role: "function", parts: [{ functionResponse: { name: "f", response: { ok: true } } }] },
    ],
    tools: [{ functionDeclarations: [{ name: "f" }] }],
  },
  { contents: [{ parts: [{ text: "日本語で書いてください。物語をお願いします。" }] }] },
  { contents: [] },
];

describe("buildContinuationBody", () => {
  it("equals the object builder's continuation after parsing, for every sample and spacing", () => {
    for (const sample of SAMPLES) {
      for (const text of [JSON.stringify(sample), JSON.stringify(sample, null, 2)]) {
        const r = encode(text);
        for (const produced of [0, 40, 5000]) {
          const opts = { prompts, producedOutputTokens: produced };
          const answer = "The fox ran into the woods and";
          expect(parsed(buildContinuationBody(r, answer, opts))).toEqual(
            buildContinuationRequest(JSON.parse(text), answer, opts),
          );
          expect(parsed(buildRestartBody(r, { producedOutputTokens: produced }))).toEqual(
            buildRestartRequest(JSON.parse(text), { producedOutputTokens: produced }),
          );
          expect(parsed(buildContinuationBody(r, "", opts))).toEqual(
            buildContinuationRequest(JSON.parse(text), "", opts),
          );
        }
      }
    }
  });

  it("reuses the original bytes instead of re-serializing them", () => {
    const big = "A long document. ".repeat(50_000);
    const text = JSON.stringify({
      contents: [user(big), model("Summary so far"), user("Go on.")],
      generationConfig: { maxOutputTokens: 4000 },
    });
    const r = encode(text);
    const next = buildContinuationBody(r, "It begins with", { prompts, producedOutputTokens: 100 });
    // Everything but the rewritten generationConfig is carried as views into the client's buffer.
    const config = r.original.index.generationConfig!;
    expect(originalBytesReused(next)).toBe(r.original.bytes.length - (config.end - config.start));
    // The new bytes are the appended turns and the new generationConfig only: a few hundred bytes.
    expect(next.byteLength - originalBytesReused(next)).toBeLessThan(300);
    expect(parsed(next)).toEqual(
      buildContinuationRequest(JSON.parse(text), "It begins with", { prompts, producedOutputTokens: 100 }),
    );
    // A restart without a budget change is the original bytes themselves.
    const restart = buildRestartBody(r, {});
    expect(restart.pieces).toHaveLength(1);
    expect(restart.pieces[0]!.buffer).toBe(r.original.bytes.buffer);
  });

  it("property: equals the object builder for any conversation shape and answer", () => {
    const part = fc.oneof(
      fc.record({ text: fc.string() }),
      fc.record({ text: fc.string(), thought: fc.constant(true) }),
      fc.record({ inlineData: fc.record({ mimeType: fc.constant("image/png"), data: fc.base64String() }) }),
    );
    const content = fc.record(
      { role: fc.constantFrom("user", "model", "function"), parts: fc.array(part, { maxLength: 3 }) },
      { requiredKeys: ["parts"] },
    );
    const request = fc.record(
      {
        contents: fc.array(content, { maxLength: 5 }),
        generationConfig: fc.record(
          { maxOutputTokens: fc.integer({ min: 1, max: 10_000 }), temperature: fc.double({ noNaN: true }) },
          { requiredKeys: [] },
        ),
        systemInstruction: fc.record({ parts: fc.array(fc.record({ text: fc.string() }), { maxLength: 2 }) }),
      },
      { requiredKeys: ["contents"] },
    );
    fc.assert(
      fc.property(request, fc.string(), fc.nat(20_000), fc.boolean(), (req, answer, produced, pretty) => {
        const text = pretty ? JSON.stringify(req, null, 1) : JSON.stringify(req);
        const opts = { prompts, producedOutputTokens: produced };
        expect(parsed(buildContinuationBody(encode(text), answer, opts))).toEqual(
          buildContinuationRequest(JSON.parse(text), answer, opts),
        );
      }),
      { numRuns: 300 },
    );
  });
});

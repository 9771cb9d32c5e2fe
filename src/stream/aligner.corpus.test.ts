/**
 * The aligner against realistic text: a mixed document (prose, Markdown, a table, code, Chinese, Japanese, emoji)
 * cut at any point and continued plainly, with a repeated tail, with an identical replay, or after a preamble.
 * The client must always end up with exactly the document.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContinuationAligner, MIN_OVERLAP_WEIGHT } from "./aligner";

// A fixed seed keeps the property tests deterministic (CI reruns see the same cases).
fc.configureGlobal({ seed: 20261126 });

const DOCUMENT = `# Field notes on the red fox

The red fox (Vulpes vulpes) is the largest of the true foxes. It lives on every continent of the northern
hemisphere, from the Arctic Circle to North Africa, and it adapts to towns as readily as to forests.

## What it eats

- small rodents, mostly voles and mice;
- birds and their eggs;
- fruit in late summer, especially blackberries.

| season | main food | hunting time |
| ------ | --------- | ------------ |
| winter | voles     | dusk         |
| summer | insects   | night        |

\`\`\`python
def daily_distance(track: list[float]) -> float:
    total = 0.0
    for step in track:
        total += step
    return total
\`\`\`

狐狸是一种适应能力很强的动物，常在黄昏时出来觅食。它们的听觉非常灵敏，能听到雪下老鼠的声音。

キツネは夕方に狩りをすることが多く、雪の下のネズミの音も聞き分けます。🦊❄️

Nobody knows exactly how many foxes live in London; estimates range from ten to fourteen thousand.
`;

const CPS = Array.from(DOCUMENT);
const PREAMBLES = ["Sure, here's the continuation:\n\n", "好的，继续：\n", "以下は続きです：\n"];

function align(sent: string, chunks: string[]): { text: string; rewrite: boolean } {
  const a = new ContinuationAligner(sent);
  let text = "";
  let rewrite = false;
  for (const step of [...chunks.map((c) => a.push(c)), a.finish()]) {
    if (step.kind === "emit") text += step.text;
    if (step.kind === "rewrite") rewrite = true;
  }
  return { text, rewrite };
}

function chunk(text: string, size: number): string[] {
  const cps = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out;
}

describe("ContinuationAligner on a realistic document", () => {
  const cut = fc.integer({ min: 1, max: CPS.length - 1 });
  const size = fc.integer({ min: 1, max: 24 });

  it("property: a plain continuation is delivered unchanged", () => {
    fc.assert(
      fc.property(cut, size, (at, n) => {
        const rest = CPS.slice(at).join("");
        expect(align(CPS.slice(0, at).join(""), chunk(rest, n))).toEqual({ text: rest, rewrite: false });
      }),
      { numRuns: 300 },
    );
  });

  it("property: a repeated tail of 10–200 characters (not a bare table rule) is dropped", () => {
    fc.assert(
      fc.property(cut, size, fc.integer({ min: 10, max: 200 }), (at, n, overlap) => {
        const sent = CPS.slice(0, at).join("");
        const rest = CPS.slice(at).join("");
        fc.pre(at >= overlap);
        const tail = CPS.slice(at - overlap, at).join("");
        // By design, table rules ("---- | ----") and repeats lighter than MIN_OVERLAP_WEIGHT (whitespace runs
        // counting as one) are left alone.
        fc.pre(new Set(tail.replace(/\s/gu, "")).size >= 3);
        fc.pre(Array.from(tail.replace(/\s+/gu, " ")).length >= MIN_OVERLAP_WEIGHT);
        expect(align(sent, chunk(tail + rest, n))).toEqual({ text: rest, rewrite: false });
      }),
      { numRuns: 300 },
    );
  });

  it("property: a repeated tail cut before its end is never emitted (the engine drops it when cut)", () => {
    fc.assert(
      fc.property(cut, size, fc.integer({ min: 10, max: 200 }), fc.nat(), (at, n, overlap, cutSeed) => {
        fc.pre(at >= overlap);
        const tail = CPS.slice(at - overlap, at);
        fc.pre(new Set(tail.join("").replace(/\s/gu, "")).size >= 3);
        fc.pre(Array.from(tail.join("").replace(/\s+/gu, " ")).length >= MIN_OVERLAP_WEIGHT);
        const partial = tail.slice(0, 1 + (cutSeed % (overlap - 1))).join("");
        const a = new ContinuationAligner(CPS.slice(0, at).join(""));
        // Each step is undecided, or decided with nothing to show (a repeat complete but for trailing whitespace).
        for (const piece of chunk(partial, n)) {
          const st = a.push(piece);
          expect(st.kind === "pending" || (st.kind === "emit" && st.text === "")).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("property: an identical replay from the start is dropped", () => {
    fc.assert(
      fc.property(cut, size, (at, n) => {
        const sent = CPS.slice(0, at).join("");
        const rest = CPS.slice(at).join("");
        fc.pre(sent.trim().length >= 4);
        expect(align(sent, chunk(sent + rest, n))).toEqual({ text: rest, rewrite: false });
      }),
      { numRuns: 300 },
    );
  });

  it("property: a preamble is dropped (continuations that begin with a visible character)", () => {
    fc.assert(
      fc.property(cut, size, fc.constantFrom(...PREAMBLES), (at, n, preamble) => {
        const rest = CPS.slice(at).join("");
        fc.pre(/^\S/u.test(rest));
        expect(align(CPS.slice(0, at).join(""), chunk(preamble + rest, n))).toEqual({
          text: rest,
          rewrite: false,
        });
      }),
      { numRuns: 300 },
    );
  });
});

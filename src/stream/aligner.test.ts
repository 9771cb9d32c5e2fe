import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AlignStep,
  ContinuationAligner,
  MAX_ALIGN_BUFFER_CHARS,
  MIN_OVERLAP_WEIGHT,
  MIN_REPLAY_WEIGHT,
  REWRITE_SHARED_WEIGHT,
  WIDE_CHAR_WEIGHT,
} from "./aligner";

// A fixed seed keeps the property tests deterministic (CI reruns see the same cases).
fc.configureGlobal({ seed: 20261126 });

/** Weight as the aligner sees it: whitespace runs collapsed, CJK counted wide. */
const normWeight = (s: string): number =>
  Array.from(s.replace(/\s+/gu, " ")).reduce(
    (w, c) => w + (/[\u2e80-\u9fff]/u.test(c) ? WIDE_CHAR_WEIGHT : 1),
    0,
  );

interface Run {
  text: string;
  rewrite: boolean;
  removed: number;
  steps: AlignStep[];
}

/** Pushes the chunks, then finishes; collects what would reach the client. */
function run(sent: string, chunks: string[]): Run {
  const a = new ContinuationAligner(sent);
  const steps = [...chunks.map((c) => a.push(c)), a.finish()];
  return {
    text: steps.map((s) => (s.kind === "emit" ? s.text : "")).join(""),
    rewrite: steps.some((s) => s.kind === "rewrite"),
    removed: a.removedChars,
    steps,
  };
}

/** Splits `text` (by code points) at the given cut points. */
function chunked(text: string, cuts: number[]): string[] {
  const cps = Array.from(text);
  const points = [...new Set(cuts.map((c) => c % (cps.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of [...points, cps.length]) {
    out.push(cps.slice(prev, p).join(""));
    prev = p;
  }
  return out.filter((c) => c !== "");
}

const S = "The quick brown fox jumps over the lazy dog. It was a sunny day and the fox wo";

describe("ContinuationAligner", () => {
  it("passes a plain continuation through", () => {
    expect(run(S, ["uld", " run home."])).toMatchObject({
      text: "uld run home.",
      removed: 0,
      rewrite: false,
    });
    expect(run("Hello.", ["\n\nNext paragraph."])).toMatchObject({ text: "\n\nNext paragraph.", removed: 0 });
  });

  it("after deciding, passes later chunks through unchanged (one emit per push)", () => {
    const a = new ContinuationAligner(S);
    expect(a.push("uld run. ")).toEqual({ kind: "emit", text: "uld run. " });
    expect(a.push("Sure, here's the continuation:")).toEqual({
      kind: "emit",
      text: "Sure, here's the continuation:",
    });
    expect(a.finish()).toEqual({ kind: "emit", text: "" });
  });

  it("strips a preamble, in pieces, and the whitespace after it", () => {
    expect(run(S, ["Sure", ", here's the rest", ":\n\n", "uld run."])).toMatchObject({
      text: "uld run.",
      removed: 24,
    });
    expect(run("我们今天讨论的是", ["好的，继续：\n", "中国历史。"])).toMatchObject({
      text: "中国历史。",
      removed: 7,
    });
    expect(run("今日は", ["はい、続きを書きます。\n", "いい天気です。"])).toMatchObject({
      text: "いい天気です。",
    });
    expect(run("오늘은", ["네, 이어서 작성하겠습니다.\n\n", "좋은 날입니다."])).toMatchObject({
      text: "좋은 날입니다.",
    });
  });

  it("a continuation that is only a preamble adds nothing", () => {
    expect(run(S, ["Sure, here's the continuation:"])).toMatchObject({ text: "", removed: 30 });
  });

  it("drops a repeated tail (overlap), with whitespace tolerance", () => {
    expect(run(S, ["It was a sunny day and the fox wo", "uld run."])).toMatchObject({
      text: "uld run.",
      removed: 33,
    });
    expect(run(S, ["the fox would run."])).toMatchObject({ text: "uld run.", removed: 10 });
    expect(run("line one\nline two\n\nand th", ["line two and th", "en more"])).toMatchObject({
      text: "en more",
    });
    expect(run("我们今天讨论的是中国古代历史中的一个重要", ["历史中的一个重要问题。"])).toMatchObject({
      text: "问题。",
      removed: 8,
    });
  });

  it("a preamble followed by the repeated tail: both go", () => {
    expect(run(S, ["Continuing from where I left off:\n", "sunny day and the fox would run."])).toMatchObject(
      {
        text: "uld run.",
      },
    );
  });

  it("a repeat ending in whitespace drops exactly the sent answer's trailing run, keeping the continuation's own", () => {
    const sent = "try {\n  } catch (err) {\n      console.log(err.status); // 400\n";
    const next = "      console.log(err.name);";
    expect(run(sent, [`console.log(err.status); // 400\n${next}`])).toMatchObject({ text: next });
    expect(run(sent, ["console.log(err.status); // 400", "\n", next])).toMatchObject({ text: next });
    expect(run("Title line\n", ["Title line\n\nNext"])).toMatchObject({ text: "\nNext" });
    expect(run("Title line\n", ["Title line", "\n", "\nNext"])).toMatchObject({ text: "\nNext" });
    // Table rules repeat by nature: a suffix of dashes and bars is not taken for an overlap.
    const rule = "----- | ------------------ |";
    expect(run("| a | b |\n| ---------- | -----------------", [rule])).toMatchObject({
      text: rule,
      removed: 0,
    });
  });

  it("short chance overlaps stay", () => {
    expect(run("I said ha", ["ha and left"])).toMatchObject({ text: "ha and left", removed: 0 });
  });

  it("skips an identical replay from the start, then continues", () => {
    const r = run(S, [
      "The quick brown fox jumps ",
      "over the lazy dog.\nIt was a  sunny day and the fox wo",
      "uld run.",
    ]);
    expect(r).toMatchObject({ text: "uld run.", rewrite: false });
    expect(r.removed).toBe(Array.from(S).length + 1); // the doubled space counts as removed too
    expect(run("Short", ["Short answer, continued"])).toMatchObject({ text: " answer, continued" });
  });

  it("a replay that stops before the end adds nothing", () => {
    expect(run(S, ["The quick brown fox jumps over"])).toMatchObject({ text: "", rewrite: false });
  });

  it("reports a rewrite: restarted, then different content", () => {
    expect(run(S, ["The quick brown fox leaps over a sleepy cat."])).toMatchObject({
      rewrite: true,
      text: "",
    });
    const late = run(S, ["The quick brown fox jumps over the lazy dog. It was a rainy day"]);
    expect(late.rewrite).toBe(true);
    const a = new ContinuationAligner(S);
    a.push("The quick brown fox leaps over");
    expect(a.push("more")).toEqual({ kind: "rewrite" });
    expect(a.finish()).toEqual({ kind: "rewrite" });
  });

  it("after a complete line, a new block that begins like the answer's first one is not a rewrite", () => {
    const sent = "```python\nimport os\nimport sys\nprint(os.name)\n```\n";
    const next = "```python\nimport os\nimport json\n```";
    expect(run(sent, [next])).toMatchObject({ text: next, rewrite: false });
    expect(run(sent, [next.slice(0, 12), next.slice(12)])).toMatchObject({ text: next, rewrite: false });
    expect(run(sent.trimEnd(), ["\n", next])).toMatchObject({ text: `\n${next}`, rewrite: false });
    // Mid-line, restarting like the answer's start is a rewrite.
    const steps = "Step one: open the file and read it.\nStep two: wri";
    expect(run(steps, ["Step one: open the file and parse it."])).toMatchObject({ rewrite: true });
    expect(run(steps, ["te it back.\nStep one: open the file again."])).toMatchObject({ rewrite: false });
  });

  it("drops a restarted word", () => {
    expect(run(S, ["wo", "uld run"])).toMatchObject({ text: "uld run", removed: 2 });
    expect(run("Hello wo", ["world!"])).toMatchObject({ text: "rld!", removed: 2 });
    expect(run("Hello wo", ["rld!"])).toMatchObject({ text: "rld!", removed: 0 });
    expect(run("I have a", ["apple"])).toMatchObject({ text: "apple" }); // one-letter fragments are not judged
  });

  it("inside a code block, drops a reopened fence; outside one, keeps fences", () => {
    const code = "Here:\n```python\ndef f():\n    return";
    expect(run(code, ["``", "`python\n", " 1\n```\nDone."])).toMatchObject({
      text: " 1\n```\nDone.",
      removed: 10,
    });
    expect(run(code, [" 1\n```"])).toMatchObject({ text: " 1\n```", removed: 0 });
    const closed = "Here:\n```python\nx = 1\n```\n";
    expect(run(closed, ["```js\ny = 2\n```"])).toMatchObject({ text: "```js\ny = 2\n```", removed: 0 });
  });

  it("handles emoji and CJK without splitting code points", () => {
    expect(run("Party 🎉🎉 time is here 🦊", ["is here 🦊🦊 and more"])).toMatchObject({
      text: "🦊 and more",
    });
    expect(run("家族👨‍👩‍👧で旅行に行きました", ["で旅行に行きました。楽しかった"])).toMatchObject({
      text: "。楽しかった",
    });
  });

  it("bounds its buffering", () => {
    const a = new ContinuationAligner(S);
    let step: AlignStep = { kind: "pending" };
    let pushed = 0;
    while (step.kind === "pending" && pushed < MAX_ALIGN_BUFFER_CHARS * 2) {
      step = a.push(" ");
      pushed++;
    }
    expect(step.kind).toBe("emit");
    expect(pushed).toBeLessThanOrEqual(MAX_ALIGN_BUFFER_CHARS);
  });

  it("an empty continuation emits nothing", () => {
    expect(run(S, [])).toMatchObject({ text: "", removed: 0, rewrite: false });
  });

  // Alphabets: Latin, CJK, emoji; "Ω" starts the genuine new text and never occurs in the sent answer, so the
  // expected result is exact.
  const alphabet = fc.constantFrom(..."abcdefg hij\n", ..."中文字", "🦊", "é");
  const answer = fc.array(alphabet, { minLength: 1, maxLength: 80 }).map((a) => a.join(""));
  const fresh = fc.array(alphabet, { maxLength: 30 }).map((a) => `Ω${a.join("")}`);
  const cuts = fc.array(fc.nat(), { maxLength: 6 });

  it("property: a genuine continuation passes unchanged, however it is chunked", () => {
    fc.assert(
      fc.property(answer, fresh, cuts, (sent, cont, cs) => {
        expect(run(sent, chunked(cont, cs))).toMatchObject({ text: cont, removed: 0, rewrite: false });
      }),
    );
  });

  it("property: a repeated tail is dropped when long enough, however it is chunked", () => {
    fc.assert(
      fc.property(answer, fc.integer({ min: 8, max: 80 }), fresh, cuts, (sent, n, cont, cs) => {
        const cps = Array.from(sent);
        fc.pre(cps.length >= n && !/\s/.test(cps[cps.length - n] ?? ""));
        const tail = cps.slice(cps.length - n).join("");
        fc.pre(normWeight(tail) >= MIN_OVERLAP_WEIGHT);
        expect(run(sent, chunked(tail + cont, cs)).text).toBe(cont);
      }),
    );
  });

  it("property: an identical replay is skipped, however it is chunked", () => {
    fc.assert(
      fc.property(answer, fresh, cuts, (sent, cont, cs) => {
        fc.pre(!/^\s/.test(sent) && normWeight(sent) >= MIN_REPLAY_WEIGHT);
        const r = run(sent, chunked(sent + cont, cs));
        expect(r).toMatchObject({ text: cont, rewrite: false });
        expect(r.removed).toBe(Array.from(sent).length);
      }),
    );
  });

  it("property: restarting the answer and then diverging is a rewrite, however it is chunked", () => {
    // "Z" ends the sent answer and occurs nowhere else, so the restart cannot also be read as a repeated tail.
    const start = fc.array(alphabet, { minLength: 16, maxLength: 40 }).map((a) => `x${a.join("")}`);
    fc.assert(
      fc.property(start, answer, fresh, cuts, (head, more, cont, cs) => {
        fc.pre(normWeight(head.trimEnd()) >= REWRITE_SHARED_WEIGHT);
        const sent = `${head}${more}Z`;
        expect(run(sent, chunked(head + cont, cs))).toMatchObject({ rewrite: true, text: "" });
      }),
    );
  });

  it("property: a preamble is stripped, however it is chunked", () => {
    const preamble = fc.constantFrom(
      "Sure, here's the continuation:\n\n",
      "好的，继续：\n",
      "以下は続きです：\n",
      "네, 이어서 작성하겠습니다.\n",
    );
    fc.assert(
      fc.property(answer, preamble, fresh, cuts, (sent, pre, cont, cs) => {
        expect(run(sent, chunked(pre + cont, cs)).text).toBe(cont);
      }),
    );
  });
});

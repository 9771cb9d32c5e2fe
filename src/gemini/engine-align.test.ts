/**
 * The engine with the production continuation kit (real aligner and continuation builder) against scripted
 * upstreams: what the client receives when continuations repeat the answer's tail and are cut again.
 */
import { describe, expect, it } from "vitest";
import { ContinuationEngine } from "./engine";
import { DEFAULT_CONTINUATION_KIT } from "./engine-kit";
import { chunk, type ScriptStep, scriptedUpstream, VirtualClock } from "./engine-testkit";
import type { EngineSummary } from "./engine-types";
import type { GenerateContentRequest, GenerateContentResponse, RetryPrompts } from "./types";

const prompts: RetryPrompts = { cn: "继续", en: "continue", ja: "続けて", ko: "계속" };
const request: GenerateContentRequest = {
  contents: [{ role: "user", parts: [{ text: "List some words" }] }],
};

/** Ground truth of soak stream 3 (seed 1), whose continuation was cut while repeating the tail. */
const ANSWER =
  "👩‍💻0 gateway1 \n2 gateway3 数据流4 传输5 token6 한국어7 传输8 数据流9 naïvea Straßeb naïvec streamd cafée Straßef streamg caféh Straßei 한국어j \nk 👩‍💻l tokenm naïven Straßeo 数据流p gatewayq 한국어r 👩‍💻s テストt streamu テストv stream";
const CPS = Array.from(ANSWER);

/** `text` as SSE chunks of `size` code points (the mock's `chunkChars`). */
const chunksOf = (text: string, size: number): GenerateContentResponse[] => {
  const cps = Array.from(text);
  const out: GenerateContentResponse[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(chunk([{ t: cps.slice(i, i + size).join("") }]));
  return out;
};
const stop = chunk([{ t: "" }], { finishReason: "STOP" });
const slice = (from: number, to?: number) => CPS.slice(from, to).join("");

async function run(steps: ScriptStep[]) {
  const clock = new VirtualClock();
  const up = scriptedUpstream(steps);
  const engine = new ContinuationEngine({
    request,
    runAttempt: up.run,
    kit: DEFAULT_CONTINUATION_KIT,
    prompts,
    clock,
    bounds: { idleTimeoutMs: 1_000, firstByteTimeoutMs: 5_000 },
  });
  const texts: string[] = [];
  const summary: EngineSummary = await clock.drive(
    (async () => {
      const gen = engine.run();
      for (;;) {
        const n = await gen.next();
        if (n.done) return n.value;
        if (n.value.type !== "chunk") continue;
        for (const p of n.value.chunk.candidates?.[0]?.content?.parts ?? [])
          if (p.thought !== true) texts.push(p.text ?? "");
      }
    })(),
  );
  const fedBack = up.calls.map(
    (c) =>
      c.body.contents
        .at(-2)
        ?.parts?.map((p) => p.text)
        .join("") ?? null,
  );
  return { text: texts.join(""), summary, fedBack };
}

describe("ContinuationEngine with the real aligner", () => {
  it("drops a tail repeat that is cut before its end (soak stream 3) and feeds back only what was sent", async () => {
    const sent = slice(0, 119);
    const tail = slice(119 - 28, 119);
    const r = await run([
      // 1: 17 chunks of 7 code points, then the connection is reset.
      { sse: [...chunksOf(sent, 7), "reset"] },
      // 2: starts repeating the last 28 code points, cut cleanly after 14 of them (no finishReason).
      { sse: chunksOf(tail, 7).slice(0, 2) },
      // 3: repeats the tail again and completes.
      { sse: [...chunksOf(tail + slice(119), 7), stop] },
    ]);
    expect(r.text).toBe(ANSWER);
    expect(r.summary.result).toBe("complete");
    // Attempts 2 and 3 are both fed exactly the 119 code points the client had.
    expect(r.fedBack.slice(1)).toEqual([sent, sent]);
    expect(r.summary.attempts.map((a) => [a.outcome, a.answerChars, a.removedChars])).toEqual([
      ["truncated", sent.length, 0],
      ["truncated", 0, 14],
      ["complete", ANSWER.length - sent.length, 28],
    ]);
  });

  it("a cut during the repeat, then a continuation that also repeats and is cut after it, still adds up", async () => {
    const sent = slice(0, 119);
    const r = await run([
      { sse: chunksOf(sent, 7) },
      // Cut inside the repeat (in the middle of a chunk's worth of text).
      { sse: chunksOf(slice(119 - 28, 119 - 3), 5) },
      // Repeats the tail, adds 20 code points, cut.
      { sse: chunksOf(slice(119 - 28, 139), 7) },
      { sse: [...chunksOf(slice(139 - 15), 7), stop] },
    ]);
    expect(r.text).toBe(ANSWER);
    expect(r.fedBack.slice(1)).toEqual([sent, sent, slice(0, 139)]);
  });

  it("a continuation that hits MAX_TOKENS inside the repeat adds nothing", async () => {
    const sent = slice(0, 119);
    const r = await run([
      { sse: chunksOf(sent, 7) },
      {
        sse: [...chunksOf(slice(119 - 28, 119 - 10), 6), chunk([{ t: "" }], { finishReason: "MAX_TOKENS" })],
      },
    ]);
    expect(r.text).toBe(sent);
    expect(r.summary).toMatchObject({ result: "max_tokens", finishReason: "MAX_TOKENS" });
  });

  it("keeps undecided text when the continuation ends with STOP (it is the answer's real end)", async () => {
    // The sent answer ends mid-word; the continuation's whole text is a short fragment the aligner cannot
    // decide on before the stream ends.
    const r = await run([{ sse: chunksOf("Hello, wor", 4) }, { sse: [chunk([{ t: "ld" }]), stop] }]);
    expect(r.text).toBe("Hello, world");
    expect(r.summary.result).toBe("complete");
  });
});

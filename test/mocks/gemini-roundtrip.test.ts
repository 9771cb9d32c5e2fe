/**
 * The continuation pieces against the mock model, without the engine: the builder's requests must be understood
 * by the model (it continues from exactly what was fed back), and the aligner must turn every kind of
 * continuation the mock plays into the seamless ground truth.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildContinuationRequest } from "../../src/gemini/continuation-builder";
import type { GenerateContentRequest, GenerateContentResponse } from "../../src/gemini/types";
import { ContinuationAligner } from "../../src/stream/aligner";
import { DEFAULT_RETRY_PROMPTS } from "../../src/stream/prompts";
import { GeminiMock } from "./gemini.mock";
import { GeminiMockClient } from "./gemini-client";
import type { AttemptSpec } from "./gemini-scenario";

let mock: GeminiMock;
let client: GeminiMockClient;
beforeAll(async () => {
  mock = new GeminiMock();
  client = new GeminiMockClient(await mock.listen());
});
afterAll(() => mock.close());

async function streamEvents(id: string, req: GenerateContentRequest): Promise<GenerateContentResponse[]> {
  const res = await fetch(`${client.base}/v1beta/models/${id}:streamGenerateContent?alt=sse`, {
    method: "POST",
    body: JSON.stringify(req),
  });
  const raw = await res.text();
  return raw
    .split("\r\n\r\n")
    .slice(0, -1) // complete events only: a cut may leave half an event at the end
    .filter((e) => e.startsWith("data: "))
    .map((e) => JSON.parse(e.slice(6)) as GenerateContentResponse);
}

const answerTexts = (events: GenerateContentResponse[]): string[] =>
  events.flatMap((e) =>
    (e.candidates?.[0]?.content?.parts ?? [])
      .filter((p) => !p.thought && typeof p.text === "string")
      .map((p) => p.text!),
  );
const finished = (events: GenerateContentResponse[]): boolean =>
  events.some((e) => e.candidates?.[0]?.finishReason !== undefined);

/** Drives attempts like the engine does (simplified): cut → continue, aligning each continuation. */
async function deliver(
  answer: string,
  original: GenerateContentRequest,
  attempts: AttemptSpec[],
): Promise<{ text: string; rewrites: number; id: string }> {
  const id = await client.scenario({
    answer,
    thought: "Private chain of thought, never to be fed back.",
    chunkChars: 9,
    attempts,
  });
  let sent = "";
  let rewrites = 0;
  for (let attempt = 0; attempt < attempts.length + 1; attempt++) {
    const req =
      sent === ""
        ? original
        : buildContinuationRequest(original, sent, {
            prompts: DEFAULT_RETRY_PROMPTS,
            producedOutputTokens: 10,
          });
    const events = await streamEvents(id, req);
    const aligner = sent === "" ? null : new ContinuationAligner(sent);
    let out = "";
    let rewrite = false;
    for (const t of answerTexts(events)) {
      const step = aligner ? aligner.push(t) : { kind: "emit" as const, text: t };
      if (step.kind === "rewrite") rewrite = true;
      if (step.kind === "emit") out += step.text;
    }
    const fin = aligner?.finish();
    if (fin?.kind === "emit") out += fin.text;
    if (fin?.kind === "rewrite") rewrite = true;
    if (rewrite) {
      rewrites++;
      continue; // a failed attempt: nothing of it reaches the client
    }
    sent += out;
    if (finished(events)) break;
  }
  return { text: sent, rewrites, id };
}

const EN =
  "The fox ran through the forest. It found a river, crossed it, and at last reached its den by night.";
const ZH = "狐狸穿过森林，找到一条河，渡过了河，最后在夜里回到了自己的洞穴。🦊 故事结束。";

describe("builder + mock model + aligner", () => {
  it.each<[string, string, AttemptSpec[]]>([
    ["plain continuation", EN, [{ kind: "cut", afterChars: 30 }]],
    [
      "three cuts in a row",
      EN,
      [
        { kind: "cut", afterChars: 10 },
        { kind: "cut", afterChars: 17 },
        { kind: "cut-in-event", afterChars: 5 },
      ],
    ],
    [
      "repeated tail",
      EN,
      [
        { kind: "cut", afterChars: 40 },
        { kind: "complete", repeatTail: 20 },
      ],
    ],
    [
      "preamble",
      EN,
      [
        { kind: "cut", afterChars: 40 },
        { kind: "complete", preamble: "Sure, here's the continuation:\n\n" },
      ],
    ],
    [
      "preamble and repeated tail",
      EN,
      [
        { kind: "cut", afterChars: 40 },
        { kind: "complete", preamble: "Continuing from where I left off:\n", repeatTail: 15 },
      ],
    ],
    [
      "identical replay",
      EN,
      [
        { kind: "cut", afterChars: 40 },
        { kind: "complete", replay: true },
      ],
    ],
    [
      "Chinese with preamble and overlap",
      ZH,
      [
        { kind: "cut", afterChars: 12 },
        { kind: "complete", preamble: "好的，继续：\n", repeatTail: 6 },
      ],
    ],
    [
      "Chinese identical replay",
      ZH,
      [
        { kind: "cut", afterChars: 20 },
        { kind: "cut", replay: true, afterChars: 30 },
      ],
    ],
  ])("%s: the client gets exactly the ground truth", async (_name, answer, attempts) => {
    const original: GenerateContentRequest = {
      contents: [{ role: "user", parts: [{ text: "Tell me a story, please." }] }],
    };
    const { text, rewrites, id } = await deliver(answer, original, attempts);
    expect(rewrites).toBe(0);
    expect(text).toBe(answer);
    const log = await client.attempts(id);
    expect(log.every((r) => !r.containsThoughtText)).toBe(true);
    expect(log.slice(1).every((r) => r.continuedFrom > 0)).toBe(true);
  });

  it("a rewriting continuation is discarded and the next attempt continues from the same point", async () => {
    const original: GenerateContentRequest = { contents: [{ role: "user", parts: [{ text: "Story?" }] }] };
    const { text, rewrites, id } = await deliver(EN, original, [
      { kind: "cut", afterChars: 40 },
      { kind: "complete", rewriteText: "The fox ran through the field instead, and the story changed." },
    ]);
    expect(rewrites).toBe(1);
    expect(text).toBe(EN);
    const log = await client.attempts(id);
    expect(log.map((r) => r.continuedFrom)).toEqual([0, 40, 40]);
  });

  it("the prompt is in the user's language and quotes the tail", async () => {
    const original: GenerateContentRequest = {
      contents: [{ role: "user", parts: [{ text: "请讲一个故事。" }] }],
    };
    const { id } = await deliver(ZH, original, [{ kind: "cut", afterChars: 12 }]);
    const [, second] = await client.attempts(id);
    const body = second!.body as GenerateContentRequest;
    const prompt = body.contents.at(-1)!.parts[0]!.text!;
    expect(prompt).toContain("中断");
    expect(prompt).toContain(Array.from(ZH).slice(0, 12).join(""));
  });
});

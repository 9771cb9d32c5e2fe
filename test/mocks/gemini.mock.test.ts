import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeminiMock } from "./gemini.mock";
import { GeminiMockClient } from "./gemini-client";
import type { ScenarioSpec } from "./gemini-scenario";

let mock: GeminiMock;
let client: GeminiMockClient;
let base: string;
beforeAll(async () => {
  mock = new GeminiMock();
  const port = await mock.listen();
  client = new GeminiMockClient(port);
  base = client.base;
});
afterAll(() => mock.close());

// biome-ignore lint/suspicious/noExplicitAny: parsed response JSON, walked by the assertions
type Json = Record<string, any>;
const user = (text: string) => ({ role: "user", parts: [{ text }] });
const model = (text: string) => ({ role: "model", parts: [{ text }] });
const ORIGINAL = { contents: [user("Tell me a story")] };
const continuation = (partial: string) => ({
  contents: [...ORIGINAL.contents, model(partial), user(`Continue from: ${partial.slice(-20)}`)],
});

async function post(id: string, body: unknown, method = "streamGenerateContent?alt=sse"): Promise<Response> {
  return fetch(`${base}/v1beta/models/${id}:${method}`, { method: "POST", body: JSON.stringify(body) });
}

/** Complete `data:` events of an SSE body (an unterminated last event is returned in `rest`). */
function sse(raw: string, sep = "\r\n\r\n"): { events: Json[]; rest: string } {
  const pieces = raw.split(sep);
  const rest = pieces.pop() ?? "";
  return { events: pieces.map((p) => JSON.parse(p.replace(/^data: ?/, ""))), rest };
}
const parts = (events: Json[]): Json[] => events.flatMap((e) => e.candidates?.[0]?.content?.parts ?? []);
const answerOf = (events: Json[]) =>
  parts(events)
    .filter((p) => !p.thought && typeof p.text === "string")
    .map((p) => p.text)
    .join("");
const thoughtOf = (events: Json[]) =>
  parts(events)
    .filter((p) => p.thought)
    .map((p) => p.text)
    .join("");
const finishOf = (events: Json[]) => events.at(-1)?.candidates?.[0]?.finishReason;

async function play(spec: ScenarioSpec, ...bodies: unknown[]): Promise<{ id: string; raws: string[] }> {
  const id = await client.scenario(spec);
  const raws: string[] = [];
  for (const b of bodies) raws.push(await (await post(id, b)).text());
  return { id, raws };
}

const ANSWER = "Once upon a time, a fox 🦊 lived in 森の中. The end.";

describe("control API", () => {
  it("rejects an invalid scenario naming the field", async () => {
    const res = await fetch(`${base}/__scenarios`, { method: "POST", body: JSON.stringify({ answer: 1 }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.message).toContain("answer");
    const bad = await fetch(`${base}/__scenarios`, {
      method: "POST",
      body: JSON.stringify({ answer: "x", attempts: [{ kind: "explode" }] }),
    });
    expect(((await bad.json()) as Json).error.message).toContain("attempts[0].kind");
  });

  it("unknown scenario: 404 from the control API, Google 404 from a model route", async () => {
    expect((await fetch(`${base}/__scenarios/scn-nope/requests`)).status).toBe(404);
    const res = await post("gemini-2.5-pro", ORIGINAL);
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.status).toBe("NOT_FOUND");
  });
});

describe("playing the model over SSE", () => {
  it("complete: thoughts first, answer in chunks, STOP, per-attempt responseId, cumulative usage", async () => {
    const { id, raws } = await play(
      { answer: ANSWER, thought: "Let me think about foxes.", chunkChars: 7 },
      ORIGINAL,
    );
    const { events, rest } = sse(raws[0]!);
    expect(rest).toBe("");
    expect(thoughtOf(events)).toBe("Let me think about foxes.");
    expect(answerOf(events)).toBe(ANSWER);
    expect(finishOf(events)).toBe("STOP");
    expect(events.every((e) => e.responseId === `mock-${id}-1` && e.modelVersion === "gemini-mock-001")).toBe(
      true,
    );
    const totals = events.map((e) => e.usageMetadata.totalTokenCount);
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    expect(events.at(-1)!.usageMetadata.thoughtsTokenCount).toBe(Math.ceil(25 / 4));
  });

  it("cut: ends cleanly without finishReason; the next attempt continues from the partial fed back", async () => {
    const { id, raws } = await play(
      { answer: ANSWER, thought: "Secret reasoning here", attempts: [{ kind: "cut", afterChars: 20 }] },
      ORIGINAL,
    );
    const first = sse(raws[0]!).events;
    expect(answerOf(first)).toBe(Array.from(ANSWER).slice(0, 20).join(""));
    expect(raws[0]).not.toContain("finishReason");
    const second = sse(await (await post(id, continuation(answerOf(first)))).text()).events;
    expect(answerOf(first) + answerOf(second)).toBe(ANSWER);
    const log = await client.attempts(id, { min: 2, ended: true });
    expect(log.map((r) => [r.attempt, r.behavior, r.continuedFrom, r.containsThoughtText, r.end])).toEqual([
      [1, "cut", 0, false, "finished"],
      [2, "complete", 20, false, "finished"],
    ]);
    expect(log[1]!.partialText).toBe(answerOf(first));
  });

  it("flags thought text fed back in a continuation", async () => {
    const { id } = await play(
      { answer: ANSWER, thought: "Secret reasoning here", attempts: [{ kind: "cut", afterChars: 5 }] },
      ORIGINAL,
      { contents: [...ORIGINAL.contents, model("Secret reasoning hereOnce "), user("go on")] },
      {
        contents: [
          ...ORIGINAL.contents,
          { role: "model", parts: [{ text: "x", thought: true }, { text: "Once " }] },
        ],
      },
    );
    const log = await client.attempts(id, { min: 3 });
    expect(log.map((r) => r.containsThoughtText)).toEqual([false, true, true]);
    expect(log[2]!.thoughtParts).toBe(1);
  });

  it("a partial merged into a prefill model turn is found (longest ground-truth prefix the turn ends with)", async () => {
    const prefill = { contents: [user("Story?"), model("Prefill: ")] };
    const id = await client.scenario({ answer: ANSWER, attempts: [{ kind: "cut", afterChars: 10 }] });
    await (await post(id, prefill)).text();
    const merged = {
      contents: [
        user("Story?"),
        { role: "model", parts: [{ text: "Prefill: " }, { text: "Once upon " }] },
        user("more"),
      ],
    };
    const second = sse(await (await post(id, merged)).text()).events;
    expect(answerOf(second)).toBe(Array.from(ANSWER).slice(10).join(""));
    const restart = await post(id, prefill); // identical to the original: not a continuation
    expect(answerOf(sse(await restart.text()).events)).toBe(ANSWER);
  });

  it("atChar and afterThoughtChars", async () => {
    const { raws } = await play(
      {
        answer: ANSWER,
        thought: "Thinking slowly.",
        attempts: [
          { kind: "cut", afterThoughtChars: 4 },
          { kind: "cut", atChar: 30 },
        ],
      },
      ORIGINAL,
      continuation("Once upon a time"),
    );
    expect(thoughtOf(sse(raws[0]!).events)).toBe("Thin");
    expect(answerOf(sse(raws[0]!).events)).toBe("");
    expect(answerOf(sse(raws[1]!).events)).toBe(Array.from(ANSWER).slice(16, 30).join(""));
  });

  it("cut-in-event: the last event is incomplete", async () => {
    const { raws } = await play(
      { answer: ANSWER, chunkChars: 8, attempts: [{ kind: "cut-in-event", afterChars: 8 }] },
      ORIGINAL,
    );
    const { events, rest } = sse(raws[0]!);
    expect(answerOf(events)).toBe("Once upo");
    expect(rest.startsWith("data: {")).toBe(true);
    expect(() => JSON.parse(rest.slice(6))).toThrow();
  });

  it("cut-in-char: the body ends inside a multi-byte UTF-8 character", async () => {
    const id = await client.scenario({
      answer: "abc森の中",
      chunkChars: 10,
      attempts: [{ kind: "cut-in-char", afterChars: 0 }],
    });
    const bytes = new Uint8Array(await (await post(id, ORIGINAL)).arrayBuffer());
    expect(bytes.at(-1)).toBe(0xe6); // first byte of 森 (E6 A3 AE)
    expect(Buffer.from(bytes).toString("utf8").endsWith("\uFFFD")).toBe(true); // undecodable tail
  });

  it("function calls: in the final event of a complete attempt, or mid-attempt before a cut", async () => {
    const fc = { name: "lookup", args: { q: 1 } };
    const { raws } = await play(
      {
        answer: "Let me check.",
        functionCall: fc,
        thoughtSignature: "sig-1",
        attempts: [{ kind: "cut", functionCall: true }],
      },
      ORIGINAL,
      ORIGINAL,
    );
    const cut = sse(raws[0]!).events;
    expect(parts(cut).filter((p) => p.functionCall)).toEqual([
      { functionCall: fc, thoughtSignature: "sig-1" },
    ]);
    expect(finishOf(cut)).toBeUndefined();
    const done = sse(raws[1]!).events;
    expect(done.at(-1)!.candidates[0]).toMatchObject({
      content: { parts: [{ functionCall: fc, thoughtSignature: "sig-1" }] },
      finishReason: "STOP",
    });
  });

  it("custom SSE framing", async () => {
    const { raws } = await play({ answer: "hello", sseSeparator: "\n\n", sseDataPrefix: "data:" }, ORIGINAL);
    expect(raws[0]!.startsWith('data:{"candidates"')).toBe(true);
    expect(answerOf(sse(raws[0]!, "\n\n").events)).toBe("hello");
  });

  it.each([
    ["empty-stop", "", "STOP", ""],
    ["thought-only-stop", "", "STOP", "Ponder."],
    ["safety", "Once upon", "SAFETY", ""],
    ["max-tokens", "Once upon", "MAX_TOKENS", ""],
  ] as const)("%s", async (kind, answer, finish, thought) => {
    const { raws } = await play(
      { answer: ANSWER, ...(thought ? { thought } : {}), attempts: [{ kind, afterChars: 9 }] },
      ORIGINAL,
    );
    const { events } = sse(raws[0]!);
    expect([answerOf(events), finishOf(events), thoughtOf(events)]).toEqual([answer, finish, thought]);
  });

  it("finish with a chosen reason, blocked prompt", async () => {
    const { raws } = await play(
      {
        answer: ANSWER,
        attempts: [{ kind: "finish", finishReason: "RECITATION", afterChars: 3 }, { kind: "blocked-prompt" }],
      },
      ORIGINAL,
      ORIGINAL,
    );
    expect(finishOf(sse(raws[0]!).events)).toBe("RECITATION");
    const blocked = sse(raws[1]!).events;
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.promptFeedback).toEqual({ blockReason: "SAFETY" });
  });

  it("error-event: data event or a raw multi-line object", async () => {
    const { raws } = await play(
      {
        answer: ANSWER,
        attempts: [
          { kind: "error-event", afterChars: 4 },
          { kind: "error-event", afterChars: 4, errorFormat: "raw" },
        ],
      },
      ORIGINAL,
      ORIGINAL,
    );
    const { events } = sse(raws[0]!);
    expect(events.at(-1)).toEqual({
      error: { code: 503, message: expect.any(String), status: "UNAVAILABLE" },
    });
    const raw = sse(raws[1]!);
    expect(JSON.parse(raw.rest)).toMatchObject({ error: { code: 503 } });
    expect(raw.rest.split("\n").length).toBeGreaterThan(3);
  });

  it("http-error: Google error body, RetryInfo and Retry-After", async () => {
    const id = await client.scenario({
      answer: ANSWER,
      attempts: [
        { kind: "http-error", status: 429, retryDelaySec: 2, retryAfterSec: 3 },
        { kind: "http-error", status: 401 },
      ],
    });
    const r429 = await post(id, ORIGINAL);
    expect(r429.status).toBe(429);
    expect(r429.headers.get("retry-after")).toBe("3");
    const body = (await r429.json()) as Json;
    expect(body.error).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    expect(body.error.details).toEqual([
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" },
    ]);
    const r401 = await post(id, ORIGINAL);
    expect([r401.status, ((await r401.json()) as Json).error.status]).toEqual([401, "UNAUTHENTICATED"]);
    expect(answerOf(sse(await (await post(id, ORIGINAL)).text()).events)).toBe(ANSWER); // then the default
  });

  it("stall keeps the socket open until the client leaves; the log records it", async () => {
    const id = await client.scenario({
      answer: ANSWER,
      chunkChars: 4,
      attempts: [{ kind: "stall", afterChars: 4 }],
    });
    const ac = new AbortController();
    const r = await fetch(`${base}/v1beta/models/${id}:streamGenerateContent?alt=sse`, {
      method: "POST",
      body: JSON.stringify(ORIGINAL),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"text":"Once"');
    const open = await client.requests(id, { min: 1, ended: true, timeoutMs: 200 });
    expect(open.timedOut).toBe(true); // still stalled
    expect(open.requests[0]!.end).toBeNull();
    ac.abort();
    const log = await client.attempts(id, { min: 1, ended: true });
    expect(log[0]!.end).toBe("client-closed");
    expect(log[0]!.endedAt).toBeGreaterThanOrEqual(log[0]!.receivedAt);
  });

  it("reset: the connection is reset mid-stream", async () => {
    const id = await client.scenario({ answer: ANSWER, attempts: [{ kind: "reset", afterChars: 4 }] });
    await expect(post(id, ORIGINAL).then((r) => r.text())).rejects.toThrow();
    expect((await client.attempts(id, { min: 1, ended: true }))[0]!.end).toBe("reset");
  });

  it("continuation decorations: repeated tail, preamble, identical replay, rewrite", async () => {
    const partial = "Once upon a time, a fox";
    const { raws } = await play(
      {
        answer: ANSWER,
        attempts: [
          { kind: "cut", afterChars: 23 },
          { kind: "complete", repeatTail: 5 },
          { kind: "complete", preamble: "Sure, here's the continuation:\n\n" },
          { kind: "complete", replay: true },
          { kind: "complete", rewriteText: "A different story." },
        ],
      },
      ORIGINAL,
      continuation(partial),
      continuation(partial),
      continuation(partial),
      continuation(partial),
    );
    const rest = ANSWER.slice(partial.length);
    expect(raws.map((r) => answerOf(sse(r).events))).toEqual([
      partial,
      `a fox${rest}`, // the last 5 code points of the partial, then the rest
      `Sure, here's the continuation:\n\n${rest}`,
      ANSWER,
      "A different story.",
    ]);
  });

  it("holdAfterChars pauses until released (a banked release passes at once)", async () => {
    const id = await client.scenario({
      answer: "abcdefgh",
      chunkChars: 2,
      attempts: [{ kind: "complete", holdAfterChars: 3 }],
    });
    const res = await post(id, ORIGINAL);
    const reader = res.body!.getReader();
    let got = "";
    while (!got.includes('"text":"c"')) got += new TextDecoder().decode((await reader.read()).value);
    expect(got).not.toContain('"text":"d"');
    await client.release(id);
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      got += new TextDecoder().decode(value);
    }
    expect(answerOf(sse(got).events)).toBe("abcdefgh");
  });
});

describe("other formats and routes", () => {
  it("streamed JSON array: complete parses; a cut one does not", async () => {
    const id = await client.scenario({
      answer: ANSWER,
      attempts: [{ kind: "complete" }, { kind: "cut", afterChars: 5 }],
    });
    const ok = await post(id, ORIGINAL, "streamGenerateContent");
    const arr = JSON.parse(await ok.text()) as Json[];
    expect(answerOf(arr)).toBe(ANSWER);
    const cut = await (await post(id, ORIGINAL, "streamGenerateContent")).text();
    expect(() => JSON.parse(cut)).toThrow();
    expect(cut.startsWith("[{")).toBe(true);
  });

  it("generateContent: one aggregated response", async () => {
    const id = await client.scenario({ answer: ANSWER, thought: "Hmm." });
    const body = (await (await post(id, ORIGINAL, "generateContent")).json()) as Json;
    expect(body.candidates[0].content.parts).toEqual([{ text: "Hmm.", thought: true }, { text: ANSWER }]);
    expect(body.candidates[0].finishReason).toBe("STOP");
  });

  it("OpenAI-compatible stream, continuing from the last assistant message", async () => {
    const id = await client.scenario({
      answer: ANSWER,
      thought: "hidden",
      attempts: [{ kind: "cut", afterChars: 10 }],
    });
    const call = (messages: unknown[]) =>
      fetch(`${base}/v1beta/openai/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: `models/${id}`, stream: true, messages }),
      }).then((r) => r.text());
    const first = await call([{ role: "user", content: "story" }]);
    const chunks = (raw: string) =>
      raw
        .split("\r\n\r\n")
        .filter((e) => e.startsWith("data: {"))
        .map((e) => JSON.parse(e.slice(6)));
    const text = (raw: string) =>
      chunks(raw)
        .map((c) => c.choices[0].delta.content ?? "")
        .join("");
    expect(text(first)).toBe("Once upon ");
    expect(first).not.toContain("[DONE]");
    const second = await call([
      { role: "user", content: "story" },
      { role: "assistant", content: "Once upon " },
      { role: "user", content: "continue" },
    ]);
    expect(text(first) + text(second)).toBe(ANSWER);
    expect(chunks(second).at(-1).choices[0].finish_reason).toBe("stop");
    expect(second.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(second).not.toContain("hidden");
  });

  it("pass-through routes answer like the API and are recorded when a scenario is named", async () => {
    const id = await client.scenario({ answer: "x" });
    const list = (await (
      await fetch(`${base}/v1beta/models?pageSize=5`, { headers: { "x-mock-scenario": id } })
    ).json()) as Json;
    expect(list.models[0].name).toBe("models/gemini-mock");
    const count = (await (await post(id, { contents: [user("12345678")] }, "countTokens")).json()) as Json;
    expect(count).toEqual({ totalTokens: 2 });
    const log = (await client.requests(id, { min: 2 })).requests;
    expect(log.map((r) => [r.kind, r.attempt, r.query])).toEqual([
      ["models", null, "?pageSize=5"],
      ["count-tokens", null, ""],
    ]);
  });

  it("the scenario header wins over the model name; splitWriteBytes keeps the bytes intact", async () => {
    const id = await client.scenario({ answer: ANSWER, splitWriteBytes: 3 });
    const res = await fetch(`${base}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "x-mock-scenario": id },
      body: JSON.stringify(ORIGINAL),
    });
    expect(answerOf(sse(await res.text()).events)).toBe(ANSWER);
  });
});

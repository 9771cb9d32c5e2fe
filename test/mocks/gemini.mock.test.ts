import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeminiMock } from "./gemini.mock";

let mock: GeminiMock;
let base: string;
beforeAll(async () => {
  mock = new GeminiMock();
  base = `http://127.0.0.1:${await mock.listen()}`;
});
afterAll(() => mock.close());

async function scenario(spec: unknown): Promise<string> {
  const r = await fetch(`${base}/__scenarios`, { method: "POST", body: JSON.stringify(spec) });
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

function sseTexts(raw: string): string {
  return raw
    .split("\r\n\r\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => JSON.parse(e.slice(6)))
    .flatMap((b) => b.candidates?.[0]?.content?.parts ?? [])
    .filter((p: { thought?: boolean }) => !p.thought)
    .map((p: { text?: string }) => p.text ?? "")
    .join("");
}

describe("gemini mock", () => {
  it("cuts the first attempt and continues the ground truth from the partial fed back", async () => {
    const answer = "Hello world, 你好世界 🌍!";
    const id = await scenario({
      answer,
      thought: "thinking hard about it",
      chunkChars: 5,
      attempts: [{ kind: "cut", afterChars: 8 }],
    });
    const url = `${base}/v1beta/models/${id}:streamGenerateContent?alt=sse`;
    const user = { role: "user", parts: [{ text: "hi" }] };
    const first = await (
      await fetch(url, { method: "POST", body: JSON.stringify({ contents: [user] }) })
    ).text();
    expect(sseTexts(first)).toBe("Hello wo");
    expect(first).not.toContain("finishReason");
    const body = {
      contents: [
        user,
        { role: "model", parts: [{ text: "Hello wo" }] },
        { role: "user", parts: [{ text: "go on" }] },
      ],
    };
    const second = await (await fetch(url, { method: "POST", body: JSON.stringify(body) })).text();
    expect(sseTexts(second)).toBe(answer.slice("Hello wo".length));
    expect(second).toContain('"finishReason":"STOP"');
    const log = (await (await fetch(`${base}/__scenarios/${id}/requests?min=2&ended=1`)).json()) as {
      requests: Array<{ attempt: number; continuedFrom: number; containsThoughtText: boolean; end: string }>;
    };
    expect(log.requests.map((r) => [r.attempt, r.continuedFrom, r.containsThoughtText, r.end])).toEqual([
      [1, 0, false, "finished"],
      [2, 8, false, "finished"],
    ]);
  });
});

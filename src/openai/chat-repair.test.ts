import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_PROMPTS } from "../stream/prompts";
import { chatRepairFormat, isRepairableChatRequest } from "./chat-repair";

const base = {
  model: "m",
  stream: true,
  max_completion_tokens: 2000,
  messages: [{ role: "user", content: "Beschreibe die Donau." }],
};
const ev = (data: object | string) => ({
  data: typeof data === "string" ? data : JSON.stringify(data),
  raw: false,
});

describe("OpenAI chat repair adapter", () => {
  it("repairs streams of one choice only", () => {
    expect(isRepairableChatRequest(base)).toBe(true);
    expect(isRepairableChatRequest({ ...base, n: 1 })).toBe(true);
    expect(isRepairableChatRequest({ ...base, n: 2 })).toBe(false);
    expect(isRepairableChatRequest({ ...base, stream: false })).toBe(false);
    expect(isRepairableChatRequest({ ...base, messages: "x" })).toBe(false);
  });

  it("builds each continuation kind, never with reasoning, and lowers the token limit", () => {
    const opts = { prefix: true, producedOutputTokens: 500 };
    const prefix = chatRepairFormat(base, "prefix", DEFAULT_RETRY_PROMPTS).buildContinuation(
      base,
      "Die Donau ",
      opts,
    );
    expect(prefix.messages).toEqual([
      ...base.messages,
      { role: "assistant", content: "Die Donau ", prefix: true },
    ]);
    expect(prefix.max_completion_tokens).toBe(1500);
    const partial = chatRepairFormat(base, "partial", DEFAULT_RETRY_PROMPTS).buildContinuation(
      base,
      "Die Donau ",
      opts,
    );
    expect((partial.messages as object[]).at(-1)).toEqual({
      role: "assistant",
      content: "Die Donau ",
      partial: true,
    });
    const format = chatRepairFormat(base, "prompt", DEFAULT_RETRY_PROMPTS);
    expect(format.prefixFor(base)).toBe(false);
    const prompt = format.buildContinuation(base, "Die Donau fließt", {
      prefix: false,
      producedOutputTokens: 5,
    });
    const messages = prompt.messages as { role: string; content: string }[];
    expect(messages.at(-2)).toEqual({ role: "assistant", content: "Die Donau fließt" });
    expect(messages.at(-1)?.role).toBe("user");
    expect(messages.at(-1)?.content).toContain("Die Donau fließt");
    expect(base.messages).toHaveLength(1);
  });

  it("reads reasoning, text, tool calls, finish, usage and errors from upstream chunks", () => {
    const parser = chatRepairFormat(base, "prompt", DEFAULT_RETRY_PROMPTS).newParser();
    const chunk = (delta: object, finish: string | null = null) =>
      ev({ id: "c", model: "m", created: 1, choices: [{ index: 0, delta, finish_reason: finish }] });
    expect(parser.parse(chunk({ reasoning_content: "hm" }))).toEqual([
      { kind: "start", meta: { id: "c", model: "m", created: 1 } },
      { kind: "reasoning", text: "hm", field: "reasoning_content" },
    ]);
    expect(parser.parse(chunk({ content: "Hi" }))).toEqual([{ kind: "text", text: "Hi" }]);
    expect(parser.parse(chunk({ tool_calls: [{ index: 0 }] }, "tool_calls"))).toEqual([
      { kind: "opaque", value: { tool_calls: [{ index: 0 }] } },
      { kind: "finish", reason: "tool_calls" },
    ]);
    expect(parser.parse(ev({ id: "c", choices: [], usage: { completion_tokens: 3 } }))).toEqual([
      { kind: "usage", usage: { completion_tokens: 3 } },
    ]);
    expect(
      parser.parse(ev({ error: { message: "cut", type: "upstream_error", code: "stream_truncated" } })),
    ).toEqual([{ kind: "error", status: 502, message: "cut" }]);
    expect(parser.parse(ev({ error: { message: "slow down", type: "rate_limit_exceeded" } }))).toEqual([
      { kind: "error", status: 429, message: "slow down" },
    ]);
    expect(parser.parse(ev("[DONE]"))).toEqual([{ kind: "end" }]);
  });

  it("renders one id, the role once, the finish, the summed usage when asked, then [DONE]", () => {
    const withUsage = { ...base, stream_options: { include_usage: true } };
    const enc = chatRepairFormat(withUsage, "prompt", DEFAULT_RETRY_PROMPTS).newEncoder({
      id: "c9",
      model: "m",
      created: 7,
    });
    const out = [...enc.text("A"), ...enc.text("B"), ...enc.finish("stop", { completion_tokens: 2 })];
    const parsed = out.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(parsed.map((c) => c.id)).toEqual(["c9", "c9", "c9", "c9"]);
    expect(JSON.stringify(parsed[0])).toContain('"role":"assistant"');
    expect(JSON.stringify(parsed[1])).not.toContain('"role"');
    expect(parsed[3]).toMatchObject({ choices: [], usage: { completion_tokens: 2 } });
    expect(out.at(-1)).toBe("data: [DONE]\n\n");
    const plain = chatRepairFormat(base, "prompt", DEFAULT_RETRY_PROMPTS).newEncoder({});
    expect(plain.finish("stop", { completion_tokens: 2 }).join("")).not.toContain("usage");
  });
});

import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_PROMPTS } from "../stream/prompts";
import { messagesRepairFormat } from "./messages-repair";

const format = messagesRepairFormat(DEFAULT_RETRY_PROMPTS);
const base = {
  model: "c",
  max_tokens: 1000,
  stream: true,
  messages: [{ role: "user", content: "Explain rivers." }],
};
const opts = (prefix: boolean) => ({ prefix, producedOutputTokens: 100 });

describe("Anthropic Messages repair adapter", () => {
  it("continues by a prefill without trailing whitespace, and lowers max_tokens by the output so far", () => {
    const next = format.buildContinuation(base, "Rivers carry water ", opts(true));
    expect(next.messages).toEqual([...base.messages, { role: "assistant", content: "Rivers carry water" }]);
    expect(next.max_tokens).toBe(900);
    expect(base.messages).toHaveLength(1);
  });

  it("keeps a client prefill in front of the answer", () => {
    const withPrefill = { ...base, messages: [...base.messages, { role: "assistant", content: "{" }] };
    const next = format.buildContinuation(withPrefill, '"river": "Nile"', opts(true));
    expect(next.messages).toEqual([...base.messages, { role: "assistant", content: '{"river": "Nile"' }]);
  });

  it("uses the continue prompt when thinking is on, and never sends thinking", () => {
    const thinking = { ...base, thinking: { type: "enabled", budget_tokens: 2000 } };
    expect(format.prefixFor(thinking)).toBe(false);
    expect(format.prefixFor(base)).toBe(true);
    const next = format.buildContinuation(thinking, "Rivers carry", opts(false));
    const messages = next.messages as { role: string; content: string }[];
    expect(messages.at(-2)).toEqual({ role: "assistant", content: "Rivers carry" });
    expect(messages.at(-1)?.role).toBe("user");
    expect(messages.at(-1)?.content).toContain("Rivers carry");
  });

  it("numbers the client's content blocks itself and ends with message_delta and message_stop", () => {
    const enc = format.newEncoder({ id: "msg_1", model: "c", usage: { input_tokens: 5, output_tokens: 1 } });
    const events = [
      ...enc.reasoning({ kind: "reasoning", text: "hmm" }),
      ...enc.reasoning({ kind: "reasoning", text: "", signature: "sig" }),
      ...enc.text("Hi"),
      ...enc.text(" there"),
      ...enc.finish("end_turn", { input_tokens: 10, output_tokens: 7 }),
    ].map((e) => JSON.parse(e.split("\ndata: ")[1] as string) as { type: string; index?: number });
    expect(events.map((e) => `${e.type}${e.index ?? ""}`)).toEqual([
      "message_start",
      "content_block_start0",
      "content_block_delta0",
      "content_block_delta0",
      "content_block_stop0",
      "content_block_start1",
      "content_block_delta1",
      "content_block_delta1",
      "content_block_stop1",
      "message_delta",
      "message_stop",
    ]);
    expect(events.at(-2)).toMatchObject({ usage: { input_tokens: 10, output_tokens: 7 } });
  });

  it("reads upstream events into items, tool use as opaque", () => {
    const parser = format.newParser();
    const ev = (data: object) => ({ data: JSON.stringify(data), raw: false });
    expect(
      parser.parse(
        ev({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t" } }),
      ),
    ).toEqual([{ kind: "opaque", value: { start: { type: "tool_use", id: "t" } } }]);
    expect(parser.parse(ev({ type: "error", error: { type: "overloaded_error", message: "busy" } }))).toEqual(
      [{ kind: "error", status: 529, message: "busy" }],
    );
    expect(
      parser.parse(
        ev({ type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 3 } }),
      ),
    ).toEqual([
      { kind: "finish", reason: "max_tokens", stopSequence: null },
      { kind: "usage", usage: { output_tokens: 3 } },
    ]);
  });
});

describe("Anthropic stop sequences", () => {
  it("carries the stop sequence a repaired stream ended on into the final message_delta", () => {
    const parser = format.newParser();
    const items = parser.parse({
      data: JSON.stringify({
        type: "message_delta",
        delta: { stop_reason: "stop_sequence", stop_sequence: "END" },
      }),
      raw: false,
    });
    expect(items).toEqual([{ kind: "finish", reason: "stop_sequence", stopSequence: "END" }]);
    const enc = format.newEncoder({});
    const delta = enc.finish("stop_sequence", null, "END").find((e) => e.startsWith("event: message_delta"));
    expect(delta).toContain('"stop_sequence":"END"');
  });
});

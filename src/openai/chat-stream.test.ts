import { describe, expect, it } from "vitest";
import type { EventKind } from "../stream/stream-format";
import { openaiChatStream } from "./chat-stream";
import { openaiErrorEvent } from "./error-event";
import { openaiResponsesStream } from "./responses-stream";

function kinds(format = openaiChatStream, ...payloads: unknown[]): EventKind[] {
  const classifier = format.newClassifier();
  return payloads.map((p) =>
    classifier.classify({ data: typeof p === "string" ? p : JSON.stringify(p), raw: false }),
  );
}

const choice = (delta: object, finish: string | null = null, index = 0) => ({
  choices: [{ index, delta, finish_reason: finish }],
});

describe("OpenAI chat completions classifier", () => {
  it("counts every kind of generated output as content, and nothing else", () => {
    expect(
      kinds(
        openaiChatStream,
        choice({ role: "assistant", content: "" }),
        choice({ content: "hi" }),
        choice({ reasoning_content: "thinking" }),
        choice({ reasoning: "thinking" }),
        choice({ refusal: "no" }),
        choice({ tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "" } }] }),
        choice({ function_call: { name: "f" } }),
        { choices: [{ index: 0, text: "legacy", finish_reason: null }] },
        { choices: [], usage: { prompt_tokens: 1 } },
        ": keep-alive is never data, but a stray line is malformed",
      ),
    ).toEqual([
      "meta",
      "content",
      "content",
      "content",
      "content",
      "content",
      "content",
      "content",
      "meta",
      "malformed",
    ]);
  });

  it("[DONE] is final only after a finish_reason, of any choice (n > 1)", () => {
    expect(kinds(openaiChatStream, choice({ content: "a" }), "[DONE]")).toEqual(["content", "premature_end"]);
    expect(
      kinds(openaiChatStream, choice({ content: "a" }, null, 0), choice({}, "length", 1), "[DONE]"),
    ).toEqual(["content", "meta", "terminal"]);
    // The usage chunk of stream_options.include_usage comes between the finish and [DONE].
    expect(kinds(openaiChatStream, choice({}, "stop"), { choices: [], usage: {} }, "[DONE]")).toEqual([
      "meta",
      "meta",
      "terminal",
    ]);
  });

  it("an error member is an in-band error", () => {
    expect(kinds(openaiChatStream, { error: { message: "x" } })).toEqual(["error"]);
  });

  it("the guard's error event is what openai-node raises: JSON with an error member, no [DONE]", () => {
    const event = openaiErrorEvent({ reason: "stalled", message: "upstream h sent nothing" });
    expect(event).toMatch(/^data: .*\n\n$/s);
    expect(JSON.parse(event.slice(6))).toEqual({
      error: { message: "upstream h sent nothing", type: "upstream_error", code: "stream_stalled" },
    });
  });
});

describe("OpenAI Responses classifier", () => {
  it("tells lifecycle, output, final and error events apart", () => {
    const t = (type: string) => ({ type });
    expect(
      kinds(
        openaiResponsesStream,
        t("response.created"),
        t("response.in_progress"),
        t("response.output_item.added"),
        t("response.reasoning_summary_text.delta"),
        t("response.function_call_arguments.delta"),
        t("response.output_text.delta"),
        t("response.incomplete"),
        t("response.completed"),
        t("response.failed"),
        t("error"),
      ),
    ).toEqual([
      "meta",
      "meta",
      "meta",
      "content",
      "content",
      "content",
      "terminal",
      "terminal",
      "terminal_failure",
      "error",
    ]);
  });
});

import { describe, expect, it } from "vitest";
import {
  aggregateResponse,
  closeJsonArray,
  encodeJsonArrayElement,
  encodeOpenAIChunk,
  encodeSseEvent,
  OPENAI_DONE,
} from "./encoders";
import type { GenerateContentResponse, Part } from "./types";

const chunk = (parts: Part[], extra: object = {}): GenerateContentResponse => ({
  candidates: [{ content: { role: "model", parts }, index: 0, ...extra }],
  responseId: "r1",
  modelVersion: "m1",
});

describe("encodeSseEvent", () => {
  it("writes one data line and a CRLF blank line, nothing else", () => {
    expect(encodeSseEvent({ a: "x\ny" })).toBe('data: {"a":"x\\ny"}\r\n\r\n');
  });
});

describe("JSON array stream", () => {
  it("forms a valid JSON array", () => {
    const items = [{ a: 1 }, { b: 2 }, { c: 3 }];
    const text = items.map((c, i) => encodeJsonArrayElement(c, i)).join("") + closeJsonArray(items.length);
    expect(JSON.parse(text)).toEqual(items);
    expect(JSON.parse(closeJsonArray(0))).toEqual([]);
  });
});

describe("aggregateResponse", () => {
  it("joins text and thought parts, keeps function calls, takes finish and usage from the end", () => {
    const out = aggregateResponse([
      chunk([{ text: "th", thought: true }]),
      chunk([{ text: "ink", thought: true }, { text: "Hel" }]),
      chunk([{ text: "lo" }]),
      {
        ...chunk([{ functionCall: { name: "f", args: { x: 1 } } }], { finishReason: "STOP" }),
        usageMetadata: { totalTokenCount: 9 },
      },
    ]);
    expect(out).toEqual({
      candidates: [
        {
          content: {
            role: "model",
            parts: [
              { text: "think", thought: true },
              { text: "Hello" },
              { functionCall: { name: "f", args: { x: 1 } } },
            ],
          },
          finishReason: "STOP",
          index: 0,
        },
      ],
      responseId: "r1",
      modelVersion: "m1",
      usageMetadata: { totalTokenCount: 9 },
    });
  });

  it("keeps a prompt block without candidates", () => {
    expect(aggregateResponse([{ promptFeedback: { blockReason: "SAFETY" } }])).toEqual({
      promptFeedback: { blockReason: "SAFETY" },
    });
  });
});

describe("encodeOpenAIChunk", () => {
  const meta = { id: "chatcmpl-abc", created: 1700000000, model: "gemini-2.5-flash" };
  const parse = (s: string) => JSON.parse(s.replace(/^data: /, "").trim());

  it("maps text, thoughts and role", () => {
    const ev = parse(encodeOpenAIChunk(chunk([{ text: "hm", thought: true }, { text: "Hi" }]), 0, meta));
    expect(ev).toMatchObject({
      id: "chatcmpl-abc",
      object: "chat.completion.chunk",
      choices: [
        {
          index: 0,
          delta: { role: "assistant", reasoning_content: "hm", content: "Hi" },
          finish_reason: null,
        },
      ],
    });
  });

  it("maps the final chunk with usage", () => {
    const final = {
      ...chunk([{ text: "" }], { finishReason: "STOP" }),
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
    };
    const ev = parse(encodeOpenAIChunk(final, 2, meta));
    expect(ev.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "stop" });
    expect(ev.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(OPENAI_DONE).toBe("data: [DONE]\r\n\r\n");
  });

  it("turns a give-up into an in-band error, never a fake stop", () => {
    const ev = parse(
      encodeOpenAIChunk(chunk([], { finishReason: "OTHER", finishMessage: "gave up" }), 3, meta),
    );
    expect(ev).toEqual({ error: { message: "gave up", type: "upstream_error", code: 502 } });
  });

  it("maps function calls to tool_calls", () => {
    const ev = parse(
      encodeOpenAIChunk(
        chunk([{ functionCall: { name: "f", args: { a: 1 } } }], { finishReason: "STOP" }),
        1,
        meta,
      ),
    );
    expect(ev.choices[0].finish_reason).toBe("tool_calls");
    expect(ev.choices[0].delta.tool_calls[0]).toMatchObject({
      type: "function",
      function: { name: "f", arguments: '{"a":1}' },
    });
  });
});

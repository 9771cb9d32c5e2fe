import { describe, expect, it } from "vitest";
import { type ChatRequest, chatRepairFormat } from "../openai/chat-repair";
import { ContinuationAligner } from "../stream/aligner";
import { drain } from "./drain";
import { PrefixAligner } from "./prefix-aligner";
import { DEFAULT_RETRY_PROMPTS } from "./prompts";
import { RepairEngine } from "./repair-engine";
import type { RepairClock, RepairEvent } from "./repair-types";

/**
 * A virtual clock: a sleep ends after the pending I/O of this turn (a macrotask later) and moves time forward by its
 * length, unless it was cancelled first (a read that won its race against a timeout cancels the timeout).
 */
function virtualClock(): RepairClock {
  let now = 0;
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<boolean>((resolve) => {
        if (signal?.aborted) return resolve(false);
        signal?.addEventListener("abort", () => resolve(false), { once: true });
        setTimeout(() => {
          if (signal?.aborted) return;
          now += ms;
          resolve(true);
        }, 0);
      }),
  };
}

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", model: "m", created: 1, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const sse = (events: string[]) =>
  new Response(events.join(""), { status: 200, headers: { "content-type": "text/event-stream" } });

const REQUEST: ChatRequest = { model: "m", stream: true, messages: [{ role: "user", content: "hi" }] };

async function run(
  answers: Response[],
  opts: { continuation?: "prefix" | "prompt"; request?: ChatRequest } = {},
) {
  const sent: ChatRequest[] = [];
  const request = opts.request ?? REQUEST;
  const format = chatRepairFormat(request, opts.continuation ?? "prompt", DEFAULT_RETRY_PROMPTS);
  const engine = new RepairEngine<ChatRequest>({
    request,
    format,
    runAttempt: async (body) => {
      sent.push(body);
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      return next;
    },
    createAligner: (s, prefix) => (prefix ? new PrefixAligner(s, false) : new ContinuationAligner(s)),
    clock: virtualClock(),
  });
  const events: RepairEvent[] = [];
  const summary = await drain(engine.run(), (ev) => void events.push(ev));
  const text = events.flatMap((e) => (e.type === "events" ? e.events : [])).join("");
  return { sent, events, text, summary };
}

function contentOf(text: string): string {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("data: {"))
    .map((e) => JSON.parse(e.slice(6)) as { choices?: { delta?: { content?: string } }[] })
    .map((c) => c.choices?.[0]?.delta?.content ?? "")
    .join("");
}

describe("RepairEngine (OpenAI chat adapter)", () => {
  it("continues a cut answer with the answer so far and ends with one [DONE]", async () => {
    const { sent, text, summary } = await run([
      sse([
        chunk({ role: "assistant", content: "" }),
        chunk({ reasoning_content: "think" }),
        chunk({ content: "Hello wor" }),
      ]),
      sse([
        chunk({ reasoning_content: "again" }),
        chunk({ content: "ld." }),
        chunk({}, "stop"),
        "data: [DONE]\n\n",
      ]),
    ]);
    expect(contentOf(text)).toBe("Hello world.");
    expect(text.match(/\[DONE\]/g)).toHaveLength(1);
    expect(text).not.toContain("again");
    expect(summary).toMatchObject({ result: "complete", continuations: 1, recovered: true });
    const messages = sent[1]?.messages as { role: string; content: string }[];
    expect(messages.at(-2)).toEqual({ role: "assistant", content: "Hello wor" });
    expect(messages.at(-1)?.role).toBe("user");
    expect(JSON.stringify(sent[1])).not.toContain("think");
  });

  it("never continues after a tool call: the cut ends with an error event", async () => {
    const call = {
      tool_calls: [{ index: 0, id: "t", type: "function", function: { name: "f", arguments: "{" } }],
    };
    const { sent, text, summary } = await run([sse([chunk(call)])]);
    expect(sent).toHaveLength(1);
    expect(text).toContain('"error"');
    expect(text).not.toContain("[DONE]");
    expect(summary.result).toBe("failed");
  });

  it("a client error before anything was sent goes back unchanged", async () => {
    const { events, summary } = await run([
      new Response('{"error":{"message":"bad model"}}', { status: 400 }),
    ]);
    expect(events).toEqual([expect.objectContaining({ type: "http_error", status: 400, passthrough: true })]);
    expect(summary.result).toBe("http_error");
  });

  it("retries a 5xx before anything was sent, invisibly", async () => {
    const { text, sent } = await run([
      new Response("{}", { status: 503 }),
      sse([chunk({ content: "Hi." }), chunk({}, "stop"), "data: [DONE]\n\n"]),
    ]);
    expect(contentOf(text)).toBe("Hi.");
    expect(sent[1]).toBe(REQUEST);
  });

  it("a prefix the provider refuses is retried once by the continue prompt", async () => {
    const { sent, text } = await run(
      [
        sse([chunk({ content: "Hello " })]),
        new Response('{"error":{"message":"prefix not supported"}}', { status: 400 }),
        sse([chunk({ content: "world." }), chunk({}, "stop"), "data: [DONE]\n\n"]),
      ],
      { continuation: "prefix" },
    );
    expect(contentOf(text)).toBe("Hello world.");
    const prefixMsgs = sent[1]?.messages as Record<string, unknown>[];
    expect(prefixMsgs.at(-1)).toEqual({ role: "assistant", content: "Hello ", prefix: true });
    const promptMsgs = sent[2]?.messages as Record<string, unknown>[];
    expect(promptMsgs.at(-1)?.role).toBe("user");
  });

  it("sums usage over the attempts for include_usage", async () => {
    const usage = (p: number, c: number) =>
      `data: ${JSON.stringify({ id: "c1", choices: [], usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c } })}\n\n`;
    const { text } = await run(
      [
        sse([chunk({ reasoning_content: "hm" }), chunk({}, "stop"), usage(10, 3), "data: [DONE]\n\n"]),
        sse([chunk({ content: "Hi." }), chunk({}, "stop"), usage(10, 2), "data: [DONE]\n\n"]),
      ],
      { request: { ...REQUEST, stream_options: { include_usage: true } } },
    );
    expect(text).toContain('"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}');
  });

  it("gives up after the continuation bound without a clean end", async () => {
    const words = [
      "Rivers flow ",
      "toward the sea ",
      "through valleys ",
      "and plains ",
      "past towns ",
      "at last ",
    ];
    const { text, summary, sent } = await run(words.map((w) => sse([chunk({ content: w })])));
    expect(sent).toHaveLength(5);
    expect(summary.result).toBe("failed");
    expect(text).toContain("max_continuations");
    expect(text).not.toContain("[DONE]");
  });
});

import { describe, expect, it } from "vitest";
import { anthropicMessagesStream } from "../anthropic/messages-stream";
import { openaiChatStream } from "../openai/chat-stream";
import { openaiResponsesStream } from "../openai/responses-stream";
import { UpstreamResetError } from "../transport/errors";
import { DEFAULT_STREAM_GUARD, type StreamGuardConfig } from "./guard-config";
import type { StreamFormat } from "./stream-format";
import { type GuardEnd, type GuardStart, guardStream } from "./stream-guard";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An upstream body the test drives chunk by chunk. */
class Upstream {
  controller!: ReadableStreamDefaultController<Uint8Array>;
  cancelled: unknown = undefined;
  readonly stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      this.controller = c;
    },
    cancel: (reason) => {
      this.cancelled = reason ?? "cancelled";
    },
  });
  send(...chunks: (string | Uint8Array)[]): void {
    for (const c of chunks) this.controller.enqueue(typeof c === "string" ? enc.encode(c) : c);
  }
  close(): void {
    this.controller.close();
  }
}

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const ROLE = chunk({ role: "assistant", content: "" });
const HELLO = chunk({ content: "Hello" });
const FINISH = chunk({}, "stop");
const DONE = "data: [DONE]\n\n";

function start(
  upstream: Upstream,
  format: StreamFormat = openaiChatStream,
  options: { hold?: boolean; config?: Partial<StreamGuardConfig>; signal?: AbortSignal } = {},
): { started: Promise<GuardStart>; ends: GuardEnd[] } {
  const ends: GuardEnd[] = [];
  const started = guardStream(upstream.stream, format, {
    config: { ...DEFAULT_STREAM_GUARD, ...options.config },
    hold: options.hold ?? false,
    targetLabel: "up.example",
    ...(options.signal ? { signal: options.signal } : {}),
    onEnd: (end) => ends.push(end),
  });
  return { started, ends };
}

async function body(started: Promise<GuardStart>): Promise<ReadableStream<Uint8Array>> {
  const s = await started;
  if (s.kind !== "deliver") throw new Error(`not delivered: ${JSON.stringify(s)}`);
  return s.body;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe("stream guard: OpenAI chat completions", () => {
  it("passes a complete stream byte for byte and reports it complete", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE, HELLO.slice(0, 10), HELLO.slice(10), FINISH, DONE);
    up.close();
    expect(await readAll(await body(started))).toBe(ROLE + HELLO + FINISH + DONE);
    expect(ends).toEqual([{ kind: "complete" }]);
  });

  it("forwards each event as soon as it is complete, without waiting for more", async () => {
    const up = new Upstream();
    const reader = (await body(start(up).started)).getReader();
    up.send(ROLE);
    expect(dec.decode((await reader.read()).value)).toBe(ROLE);
    up.send(HELLO);
    expect(dec.decode((await reader.read()).value)).toBe(HELLO);
    reader.cancel();
  });

  it("a clean close without [DONE] ends with an in-band error event, never cleanly", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE, HELLO);
    up.close();
    const text = await readAll(await body(started));
    expect(text.startsWith(ROLE + HELLO)).toBe(true);
    const last = text.slice((ROLE + HELLO).length);
    expect(last).toMatch(/^data: \{"error":\{.*\}\}\n\n$/);
    expect(JSON.parse(last.slice(6)).error).toMatchObject({
      type: "upstream_error",
      code: "stream_truncated",
    });
    expect(text).not.toMatch(/^data: \[DONE\]/m);
    expect(ends).toMatchObject([{ kind: "failed", committed: true, failure: { reason: "truncated" } }]);
  });

  it("a cut inside an event drops the half event (and a half character) before the error", async () => {
    const up = new Upstream();
    const { started } = start(up);
    const multi = enc.encode(chunk({ content: "naïve 😀" }));
    up.send(ROLE, multi.subarray(0, multi.length - 12));
    up.close();
    const text = await readAll(await body(started));
    expect(text.startsWith(`${ROLE}data: {"error"`)).toBe(true);
    expect(text).not.toContain("\uFFFD");
  });

  it("an upstream reset after content ends with the error event", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE, HELLO);
    up.controller.error(new UpstreamResetError("connection reset by peer", "after_response"));
    const text = await readAll(await body(started));
    expect(text).toContain("connection reset by peer");
    expect(text).not.toMatch(/^data: \[DONE\]/m);
    expect(ends[0]).toMatchObject({ kind: "failed", failure: { reason: "truncated" } });
  });

  it("[DONE] without any finish_reason is never forwarded", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE, HELLO, DONE);
    up.close();
    const text = await readAll(await body(started));
    expect(text).not.toMatch(/^data: \[DONE\]/m);
    expect(text).toContain('"code":"stream_truncated"');
    expect(ends[0]).toMatchObject({ kind: "failed" });
  });

  it("a [DONE] whose blank line never came still completes the stream", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE, HELLO, FINISH, "data: [DONE]");
    up.close();
    expect(await readAll(await body(started))).toBe(`${ROLE + HELLO + FINISH}data: [DONE]\n\n`);
    expect(ends).toEqual([{ kind: "complete" }]);
  });

  it("an idle upstream after commit ends with a stall error", async () => {
    const up = new Upstream();
    const { started, ends } = start(up, openaiChatStream, { config: { idleMs: 20 } });
    up.send(ROLE, HELLO);
    const text = await readAll(await body(started));
    expect(text).toContain('"code":"stream_stalled"');
    expect(up.cancelled).toBeDefined();
    expect(ends[0]).toMatchObject({ kind: "failed", failure: { reason: "stalled" } });
  });

  it("the client leaving is reported as such, not as a target failure", async () => {
    const up = new Upstream();
    const { started, ends } = start(up);
    up.send(ROLE);
    const reader = (await body(started)).getReader();
    await reader.read();
    await reader.cancel("bye");
    expect(ends).toEqual([{ kind: "client_left" }]);
    expect(up.cancelled).toBe("bye");
  });
});

describe("stream guard: hold before commit", () => {
  it("holds the start until the first content event, then delivers it whole", async () => {
    const up = new Upstream();
    const { started } = start(up, openaiChatStream, { hold: true });
    let settled = false;
    started.then(() => {
      settled = true;
    });
    up.send(ROLE);
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    up.send(HELLO, FINISH, DONE);
    up.close();
    expect(await readAll(await body(started))).toBe(ROLE + HELLO + FINISH + DONE);
  });

  it.each([
    [
      "an in-band error before content",
      [ROLE, 'data: {"error":{"message":"overloaded"}}\n\n'],
      "upstream_error",
    ],
    ["an empty stream", [], "truncated"],
    ["a stream that ends after the role chunk", [ROLE], "truncated"],
    ["[DONE] before any finish", [ROLE, DONE], "truncated"],
  ])("%s fails over and nothing reaches the client", async (_name, chunks, reason) => {
    const up = new Upstream();
    const { started, ends } = start(up, openaiChatStream, { hold: true });
    up.send(...chunks);
    up.close();
    const result = await started;
    expect(result).toMatchObject({ kind: "fail_over", failure: { reason } });
    expect(ends).toMatchObject([{ kind: "failed", committed: false, failure: { reason } }]);
  });

  it("a stall before content fails over after holdMs", async () => {
    const up = new Upstream();
    const { started } = start(up, openaiChatStream, { hold: true, config: { holdMs: 20 } });
    up.send(ROLE);
    expect(await started).toMatchObject({ kind: "fail_over", failure: { reason: "stalled" } });
    expect(up.cancelled).toBeDefined();
  });

  it("before content, the idle bound applies too when it is the shorter one", async () => {
    const up = new Upstream();
    const { started } = start(up, openaiChatStream, { hold: true, config: { holdMs: 60_000, idleMs: 20 } });
    up.send(ROLE);
    const result = await started;
    expect(result).toMatchObject({ kind: "fail_over", failure: { reason: "stalled" } });
    expect(result.kind === "fail_over" && result.failure.message).toContain("sent nothing for 20 ms");
  });

  it("commits without content once the event or byte bound is passed", async () => {
    const up = new Upstream();
    const { started } = start(up, openaiChatStream, { hold: true, config: { holdEvents: 2 } });
    up.send(ROLE, ROLE, ROLE);
    const reader = (await body(started)).getReader();
    let held = "";
    for (let i = 0; i < 3; i++) held += dec.decode((await reader.read()).value);
    expect(held).toBe(ROLE + ROLE + ROLE);
    reader.cancel();
    const up2 = new Upstream();
    const bytes = start(up2, openaiChatStream, { hold: true, config: { holdBytes: 10 } });
    up2.send(ROLE);
    expect((await bytes.started).kind).toBe("deliver");
  });

  it("an error after content is delivered with the content and charged to the target", async () => {
    const up = new Upstream();
    const { started, ends } = start(up, openaiChatStream, { hold: true });
    up.send(ROLE + HELLO, 'data: {"error":{"message":"boom"}}\n\n');
    up.close();
    const text = await readAll(await body(started));
    expect(text.startsWith(`${ROLE + HELLO}data: {"error":{"message":"boom"}}`)).toBe(true);
    expect(ends[0]).toMatchObject({ kind: "failed", committed: true, failure: { reason: "upstream_error" } });
  });

  it("a client that left during the hold is not charged to the target", async () => {
    const up = new Upstream();
    const abort = new AbortController();
    const { started, ends } = start(up, openaiChatStream, { hold: true, signal: abort.signal });
    abort.abort();
    up.send(ROLE);
    expect(await started).toEqual({ kind: "client_left" });
    expect(ends).toEqual([{ kind: "client_left" }]);
  });
});

describe("stream guard: Anthropic Messages and Responses", () => {
  const a = (type: string, data: object = {}) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

  it("Anthropic: a stream without message_stop ends with event: error", async () => {
    const up = new Upstream();
    const { started } = start(up, anthropicMessagesStream);
    up.send(a("message_start", { message: {} }), a("content_block_start", { index: 0 }));
    up.close();
    const text = await readAll(await body(started));
    const last = text.split("\n\n").at(-2)!;
    expect(last.startsWith("event: error\ndata: ")).toBe(true);
    expect(JSON.parse(last.slice("event: error\ndata: ".length))).toMatchObject({
      type: "error",
      error: { type: "api_error" },
    });
  });

  it("Anthropic: an overloaded error before content fails over; a whole stream passes", async () => {
    const up = new Upstream();
    const held = start(up, anthropicMessagesStream, { hold: true });
    up.send(a("message_start"), a("ping"), a("error", { error: { type: "overloaded_error", message: "x" } }));
    expect(await held.started).toMatchObject({ kind: "fail_over" });
    const up2 = new Upstream();
    const whole = start(up2, anthropicMessagesStream, { hold: true });
    const all = [a("message_start"), a("content_block_start"), a("content_block_delta"), a("message_stop")];
    up2.send(...all);
    up2.close();
    expect(await readAll(await body(whole.started))).toBe(all.join(""));
    expect(whole.ends).toEqual([{ kind: "complete" }]);
  });

  it("Responses: response.failed before output fails over; response.completed completes", async () => {
    const r = (type: string) => `event: ${type}\ndata: ${JSON.stringify({ type })}\n\n`;
    const up = new Upstream();
    const held = start(up, openaiResponsesStream, { hold: true });
    up.send(r("response.created"), r("response.failed"));
    expect(await held.started).toMatchObject({ kind: "fail_over", failure: { reason: "upstream_error" } });
    const up2 = new Upstream();
    const whole = start(up2, openaiResponsesStream, { hold: true });
    up2.send(r("response.created"), r("response.output_text.delta"), r("response.completed"));
    up2.close();
    expect(await readAll(await body(whole.started))).toContain("response.completed");
    expect(whole.ends).toEqual([{ kind: "complete" }]);
    const up3 = new Upstream();
    const cut = start(up3, openaiResponsesStream);
    up3.send(r("response.created"), r("response.output_text.delta"));
    up3.close();
    expect(await readAll(await body(cut.started))).toMatch(/data: \{"error":\{[^\n]*\}\}\n\n$/);
  });
});

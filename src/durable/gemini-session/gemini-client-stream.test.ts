import { describe, expect, it } from "vitest";
import { encodeSseEvent, OPENAI_DONE } from "../../gemini/encoders";
import type { GenerateContentResponse } from "../../gemini/types";
import { type ClientFormat, type ClientLogView, clientBody, MAX_CHUNK_CHARS } from "./gemini-client-stream";
import type { SessionEnd } from "./gemini-event-log";

/** The in-memory half of `GeminiEventLog`: events, end, and waiters woken on every change. */
class MemoryLog implements ClientLogView {
  readonly events: GenerateContentResponse[] = [];
  end: SessionEnd | null = null;
  #waiters: (() => void)[] = [];
  get length(): number {
    return this.events.length;
  }
  at(index: number): GenerateContentResponse | undefined {
    return this.events[index];
  }
  all(): readonly GenerateContentResponse[] {
    return this.events;
  }
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  append(chunk: GenerateContentResponse): void {
    this.events.push(chunk);
    this.#wake();
  }
  finish(result: string): void {
    this.end = { result };
    this.#wake();
  }
  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

const event = (text: string, finishReason?: string): GenerateContentResponse => ({
  candidates: [
    { content: { role: "model", parts: [{ text }] }, index: 0, ...(finishReason ? { finishReason } : {}) },
  ],
});

function bodyOf(log: MemoryLog, format: ClientFormat, from = 0) {
  const calls = { cancel: 0, done: 0 };
  const reader = clientBody(log, {
    format,
    from,
    openai: { id: "chatcmpl-test", created: 1, model: "m" },
    onCancel: () => calls.cancel++,
    onDone: () => calls.done++,
  }).getReader();
  return { reader, calls };
}

/** Every chunk of a body until it ends, decoded. */
async function chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  const dec = new TextDecoder();
  for (let step = await reader.read(); !step.done; step = await reader.read())
    out.push(dec.decode(step.value));
  return out;
}

describe("clientBody", () => {
  it("hands a client behind the log every event it is missing in one chunk, with the end (soak: ~200 small events)", async () => {
    const log = new MemoryLog();
    for (let k = 0; k < 199; k++) log.append(event(`w${k} `));
    log.append(event("end.", "STOP"));
    log.finish("complete");
    const { reader, calls } = bodyOf(log, "sse");
    const chunks = await chunksOf(reader);
    const whole = log.events.map(encodeSseEvent).join("");
    // One event per pull cost one round trip per event through three lockstep streams: minutes under load.
    expect(chunks).toHaveLength(Math.ceil(whole.length / MAX_CHUNK_CHARS));
    expect(chunks.join("")).toBe(whole);
    expect(calls).toEqual({ cancel: 0, done: 1 });
  });

  it("splits a large backlog into bounded chunks, every event exactly once and in order", async () => {
    const log = new MemoryLog();
    const big = "x".repeat(1000);
    for (let k = 0; k < 100; k++) log.append(event(`${k}:${big}`));
    log.finish("complete");
    const chunks = await chunksOf(bodyOf(log, "sse").reader);
    const eventChars = encodeSseEvent(log.events[99]).length;
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThan(MAX_CHUNK_CHARS + eventChars);
    expect(chunks.join("")).toBe(log.events.map(encodeSseEvent).join(""));
  });

  it("waits only when caught up, then takes everything appended before it ran", async () => {
    const log = new MemoryLog();
    log.append(event("a"));
    const { reader, calls } = bodyOf(log, "sse");
    const dec = new TextDecoder();
    expect(dec.decode((await reader.read()).value)).toBe(encodeSseEvent(event("a")));
    const pending = reader.read();
    log.append(event("b"));
    log.append(event("c"));
    log.append(event("d", "STOP"));
    expect(dec.decode((await pending).value)).toBe(
      ["b", "c"].map((t) => encodeSseEvent(event(t))).join("") + encodeSseEvent(event("d", "STOP")),
    );
    const closing = reader.read();
    log.finish("complete");
    expect((await closing).done).toBe(true);
    expect(calls).toEqual({ cancel: 0, done: 1 });
  });

  it("a re-attached JSON array from n is a complete array of the events from n", async () => {
    const log = new MemoryLog();
    for (const t of ["a", "b", "c"]) log.append(event(t));
    log.finish("complete");
    const text = (await chunksOf(bodyOf(log, "json_array", 1).reader)).join("");
    expect(JSON.parse(text)).toEqual([event("b"), event("c")]);
    const none = (await chunksOf(bodyOf(log, "json_array", 3).reader)).join("");
    expect(JSON.parse(none)).toEqual([]);
  });

  it("ends an OpenAI stream with [DONE] only after a clean end", async () => {
    const clean = new MemoryLog();
    clean.append(event("a", "STOP"));
    clean.finish("complete");
    expect((await chunksOf(bodyOf(clean, "openai").reader)).join("").endsWith(OPENAI_DONE)).toBe(true);
    const failed = new MemoryLog();
    failed.append(event("a", "OTHER"));
    failed.finish("failed");
    expect((await chunksOf(bodyOf(failed, "openai").reader)).join("")).not.toContain("[DONE]");
  });

  it("a cancelled body detaches once and never reports done", async () => {
    const log = new MemoryLog();
    const { reader, calls } = bodyOf(log, "sse");
    const pending = reader.read();
    await reader.cancel();
    expect((await pending).done).toBe(true);
    expect(calls).toEqual({ cancel: 1, done: 0 });
  });
});

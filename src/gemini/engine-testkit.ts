/**
 * Test doubles for the engine's unit tests (plain Node): a virtual clock that advances only when nothing else can
 * make progress, a scripted upstream, and a minimal continuation kit. Not used by production code.
 */
import type { AlignStep, ContinuationKit, EngineClock, RunAttempt } from "./engine-types";
import type { GenerateContentRequest, GenerateContentResponse } from "./types";

const flush = () => new Promise<void>((r) => setImmediate(r));

export class VirtualClock implements EngineClock {
  #now = 0;
  #timers: { at: number; resolve: (v: boolean) => void }[] = [];

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = { at: this.#now + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener(
        "abort",
        () => {
          this.#timers = this.#timers.filter((t) => t !== timer);
          resolve(false);
        },
        { once: true },
      );
    });
  }

  /** Awaits `work`, jumping to the next timer whenever everything else is idle. Throws on a real deadlock. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      for (let i = 0; i < 5 && !settled; i++) await flush();
      if (settled) break;
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers.shift();
      if (next === undefined) throw new Error("deadlock: nothing pending and the work did not finish");
      this.#now = Math.max(this.#now, next.at);
      next.resolve(true);
    }
    return work;
  }
}

/** One scripted upstream answer. */
export type ScriptStep =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { sse: (GenerateContentResponse | { raw: string } | "stall" | "reset")[] }
  | "connect_error";

export interface RecordedCall {
  body: GenerateContentRequest;
  signal: AbortSignal;
}

/** An upstream that plays `steps` in order (the last one repeats) and records each request. */
export function scriptedUpstream(steps: ScriptStep[]): { run: RunAttempt; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const enc = new TextEncoder();
  const run: RunAttempt = async (body, signal) => {
    calls.push({ body: structuredClone(body), signal });
    const s = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (s === undefined || s === "connect_error") throw new TypeError("connect failed");
    if ("status" in s) return new Response(s.body ?? "", { status: s.status, headers: s.headers ?? {} });
    const items = [...s.sse];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const item = items.shift();
        if (item === undefined) return controller.close();
        if (item === "stall") return new Promise<void>(() => {});
        if (item === "reset") return controller.error(new Error("connection reset"));
        const text =
          "raw" in item && typeof item.raw === "string" ? item.raw : `data: ${JSON.stringify(item)}\r\n\r\n`;
        controller.enqueue(enc.encode(text));
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } });
  };
  return { run, calls };
}

/**
 * A minimal kit: the continuation appends the answer as a model turn and a "continue" user turn; the aligner strips a
 * leading "Sure: " preamble and reports `rewrite` for text starting with "REWRITE".
 */
export const fakeKit: ContinuationKit = {
  buildContinuation(original, answerText) {
    return {
      ...original,
      contents: [
        ...original.contents,
        { role: "model", parts: [{ text: answerText }] },
        { role: "user", parts: [{ text: "continue" }] },
      ],
    };
  },
  buildRestart(original) {
    return original;
  },
  createAligner() {
    let buffered = "";
    let decided = false;
    let removed = 0;
    const decide = (): AlignStep => {
      if (buffered.startsWith("REWRITE")) return { kind: "rewrite" };
      decided = true;
      if (buffered.startsWith("Sure: ")) {
        removed += 6;
        buffered = buffered.slice(6);
      }
      const text = buffered;
      buffered = "";
      return { kind: "emit", text };
    };
    return {
      push(text: string): AlignStep {
        if (decided) return { kind: "emit", text };
        buffered += text;
        return buffered.length >= 7 ? decide() : { kind: "pending" };
      },
      finish(): AlignStep {
        return decided ? { kind: "emit", text: "" } : decide();
      },
      get removedChars() {
        return removed;
      },
    };
  },
};

/** A model chunk with the given parts (`{t}` text, `{th}` thought) and extra candidate fields. */
export function chunk(
  parts: ({ t: string } | { th: string } | { fc: string })[],
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): GenerateContentResponse {
  return {
    candidates: [
      {
        content: {
          role: "model",
          parts: parts.map((p) =>
            "t" in p
              ? { text: p.t }
              : "th" in p
                ? { text: p.th, thought: true }
                : { functionCall: { name: p.fc, args: {} } },
          ),
        },
        index: 0,
        ...extra,
      },
    ],
    ...top,
  };
}

/**
 * The stream integrity guard (issue 12), format-independent: it watches an upstream SSE stream on its
 * way to the client and makes sure the client never sees a clean end after a failure.
 *
 * - Events are forwarded as they complete (`sse-framer.ts`), parsed on the side (`SseParser`) and
 *   classified by the format's adapter (`stream-format.ts`). No event waits for another.
 * - Hold before commit: while another target could still be tried, the stream's start is kept back
 *   until its first content event (bounded by events, bytes and time, `guard-config.ts`). An in-band
 *   error, an empty stream, a cut or a stall before any content then fails over invisibly: the caller
 *   gets `fail_over` and tries the next target. The last possible attempt is never held.
 * - After commit, a stream that ends without the format's final event, errors, or stays silent past
 *   the idle bound ends with the format's in-band error event (the one its SDK raises), never cleanly.
 * - Every stream's fate is told once to `onEnd`, so the caller can charge the target that produced a
 *   failure (before or after commit) and credit one that finished.
 */
import { type ChunkReader, largeChunkReader } from "../transport/byte-reader";
import { UpstreamTimeoutError } from "../transport/errors";
import { raceTimeout } from "../transport/timeouts";
import type { StreamGuardConfig } from "./guard-config";
import { type FramedEvent, SseFramer } from "./sse-framer";
import { SseParser } from "./sse-parser";
import type { EventClassifier, EventKind, GuardFailure, StreamFormat } from "./stream-format";

export type GuardEnd =
  | { kind: "complete" }
  /** The client went away before the end: no evidence about the target. */
  | { kind: "client_left" }
  | { kind: "failed"; failure: GuardFailure; committed: boolean };

export interface GuardOptions {
  config: StreamGuardConfig;
  /** Hold the start until the first content event: only worth it while another target is left. */
  hold: boolean;
  /** The target's host, for messages (never its path: a base path may carry a key). */
  targetLabel: string;
  /** The client's request signal: once aborted, the guard stops and reports `client_left`. */
  signal?: AbortSignal;
  /** Called exactly once, when the stream's fate is known. */
  onEnd(end: GuardEnd): void;
}

export type GuardStart =
  | { kind: "deliver"; body: ReadableStream<Uint8Array> }
  | { kind: "fail_over"; failure: GuardFailure }
  | { kind: "client_left" };

/** Severity order: the worst kind among an event's parsed payloads decides what the event is. */
const RANK: Record<EventKind, number> = {
  meta: 0,
  malformed: 1,
  content: 2,
  terminal: 3,
  terminal_failure: 4,
  error: 5,
  premature_end: 6,
};

const encoder = new TextEncoder();

class StreamStalledSignal extends Error {}

/** Guards `source` (the upstream response body). Resolves once the stream can be delivered, or not. */
export function guardStream(
  source: ReadableStream<Uint8Array>,
  format: StreamFormat,
  options: GuardOptions,
): Promise<GuardStart> {
  return new StreamGuard(source, format, options).start();
}

class StreamGuard {
  readonly #reader: ChunkReader;
  readonly #format: StreamFormat;
  readonly #options: GuardOptions;
  readonly #framer = new SseFramer();
  readonly #parser = new SseParser();
  readonly #classifier: EventClassifier;
  /** Bytes decided to go to the client and not yet handed over (the held start, before commit). */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  /** Events that carried data. */
  #events = 0;
  #sawContent = false;
  #errorBeforeContent = false;
  #upstreamError = false;
  #terminal = false;
  /** An end marker arrived too early: the stream is over, as a cut. */
  #prematureEnd = false;
  #ended = false;

  constructor(source: ReadableStream<Uint8Array>, format: StreamFormat, options: GuardOptions) {
    // Large reads from a native byte stream (the fetch transport's body): 4 KiB default chunks cost
    // throughput, and each read is a pass through the guard.
    this.#reader = largeChunkReader(source);
    this.#format = format;
    this.#options = options;
    this.#classifier = format.newClassifier();
  }

  async start(): Promise<GuardStart> {
    if (!this.#options.hold) return { kind: "deliver", body: this.#body() };
    const { holdMs, holdEvents, holdBytes, idleMs } = this.#options.config;
    const deadline = Date.now() + holdMs;
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      const left = Math.max(1, deadline - Date.now());
      try {
        read = await this.#read(Math.min(left, idleMs), true);
      } catch (error) {
        if (this.#clientLeft()) return this.#leave();
        const what = left <= idleMs ? `sent no content within ${holdMs} ms` : `sent nothing for ${idleMs} ms`;
        const failure =
          error instanceof StreamStalledSignal ? this.#failure("stalled", what) : this.#readFailure(error);
        return this.#failOver(failure);
      }
      if (this.#clientLeft()) return this.#leave();
      if (read.done) {
        this.#endOfInput();
        if (this.#terminal && !this.#errorBeforeContent) return this.#deliver();
        return this.#failOver(this.#endFailure());
      }
      this.#consume(read.value);
      if (this.#errorBeforeContent) {
        return this.#failOver(this.#failure("upstream_error", "sent an error event before any content"));
      }
      if (this.#prematureEnd) return this.#failOver(this.#endFailure());
      if (this.#sawContent || this.#terminal) return this.#deliver();
      if (this.#events > holdEvents || this.#outBytes + this.#framer.openBytes > holdBytes) {
        return this.#deliver();
      }
    }
  }

  #deliver(): GuardStart {
    return { kind: "deliver", body: this.#body() };
  }

  #failOver(failure: GuardFailure): GuardStart {
    this.#reader.cancel(failure.message).catch(() => {});
    this.#end({ kind: "failed", failure, committed: false });
    return { kind: "fail_over", failure };
  }

  #leave(): GuardStart {
    this.#reader.cancel("client left").catch(() => {});
    this.#end({ kind: "client_left" });
    return { kind: "client_left" };
  }

  #clientLeft(): boolean {
    return this.#options.signal?.aborted === true;
  }

  #end(end: GuardEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#options.onEnd(end);
  }

  /** One upstream read, bounded by `ms` of silence (`holdPhase`: the bound is the hold's). */
  #read(ms: number, holdPhase: boolean): Promise<ReadableStreamReadResult<Uint8Array>> {
    return raceTimeout(
      this.#reader.read(),
      ms,
      () => (holdPhase ? new StreamStalledSignal() : new UpstreamTimeoutError("idle", ms, "after_response")),
      // Cancelling here would settle the pending read first (as done) and hide the timeout: the
      // failure path cancels the upstream instead.
      () => {},
    );
  }

  /** The client's body: the held start, then the live stream, then (after a failure) the error event. */
  #body(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            if (this.#out.length > 0) {
              for (const part of mergeViews(this.#out)) controller.enqueue(part);
              this.#out = [];
              this.#outBytes = 0;
              return;
            }
            if (this.#ended) {
              controller.close();
              return;
            }
            if (this.#prematureEnd) {
              this.#fail(controller, this.#endFailure());
              return;
            }
            let read: ReadableStreamReadResult<Uint8Array>;
            try {
              read = await this.#read(this.#options.config.idleMs, false);
            } catch (error) {
              if (this.#clientLeft()) {
                this.#end({ kind: "client_left" });
                controller.close();
                return;
              }
              this.#fail(controller, this.#readFailure(error));
              return;
            }
            if (read.done) {
              this.#endOfInput();
              this.#finish(controller);
              return;
            }
            this.#consume(read.value);
          }
        },
        cancel: (reason) => {
          this.#end({ kind: "client_left" });
          return this.#reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** The upstream ended: a complete stream closes; anything else ends with the error event. */
  #finish(controller: ReadableStreamDefaultController<Uint8Array>): void {
    if (!this.#terminal) {
      this.#fail(controller, this.#endFailure());
      return;
    }
    if (this.#out.length > 0) for (const part of mergeViews(this.#out)) controller.enqueue(part);
    this.#out = [];
    controller.close();
    // A complete stream that carried an upstream error (or a failed final event) told the client
    // itself; the target is still charged with it.
    this.#end(
      this.#upstreamError
        ? {
            kind: "failed",
            failure: this.#failure("upstream_error", "reported an error in the stream"),
            committed: true,
          }
        : { kind: "complete" },
    );
  }

  #fail(controller: ReadableStreamDefaultController<Uint8Array>, failure: GuardFailure): void {
    this.#reader.cancel(failure.message).catch(() => {});
    for (const part of mergeViews(this.#out)) controller.enqueue(part);
    this.#out = [];
    controller.enqueue(encoder.encode(this.#format.errorEvent(failure)));
    controller.close();
    this.#end({ kind: "failed", failure, committed: true });
  }

  /** Frames a chunk and classifies its events; forwardable bytes go to `#out`. */
  #consume(chunk: Uint8Array): void {
    if (this.#prematureEnd) return;
    if (this.#terminal) {
      // The stream is complete: whatever follows (a trailing comment) passes untouched.
      this.#push(chunk);
      return;
    }
    for (const event of this.#framer.push(chunk)) {
      if (!this.#take(event)) return;
    }
  }

  /** Classifies and forwards one complete event; false once the stream must stop. */
  #take(parts: FramedEvent): boolean {
    let kind: EventKind | null = null;
    for (const part of parts) kind = this.#classify(this.#parser.push(part), kind);
    if (kind === "premature_end") {
      this.#prematureEnd = true;
      return false;
    }
    for (const part of parts) this.#push(part);
    if (kind === null) return true;
    this.#events += 1;
    if (kind === "content") this.#sawContent = true;
    if (kind === "error" || kind === "terminal_failure") {
      this.#upstreamError = true;
      if (!this.#sawContent) this.#errorBeforeContent = true;
    }
    if (kind === "terminal" || kind === "terminal_failure") this.#terminal = true;
    return true;
  }

  #classify(events: ReturnType<SseParser["push"]>, worst: EventKind | null): EventKind | null {
    let result = worst;
    for (const event of events) {
      const kind = this.#classifier.classify(event);
      if (result === null || RANK[kind] > RANK[result]) result = kind;
    }
    return result;
  }

  #push(part: Uint8Array): void {
    this.#out.push(part);
    this.#outBytes += part.byteLength;
  }

  /**
   * The upstream ended. An event whose blank line never came is forwarded (with the blank line
   * added) only when it is the final event; any other unfinished event is a cut one and is dropped.
   */
  #endOfInput(): void {
    const open = this.#framer.takeOpen();
    if (open.length === 0 || this.#terminal || this.#prematureEnd) return;
    const parser = new SseParser();
    let kind: EventKind | null = null;
    for (const part of open) kind = this.#classify(parser.push(part), kind);
    kind = this.#classify(parser.push("\n\n"), kind);
    // A fresh buffer: bytes handed to the client's stream may be transferred, never share them.
    if (kind === "terminal" || kind === "terminal_failure") this.#take([...open, encoder.encode("\n\n")]);
  }

  #endFailure(): GuardFailure {
    const { terminalName } = this.#format;
    if (this.#upstreamError) {
      return this.#failure("upstream_error", `sent an error event and ended without ${terminalName}`);
    }
    if (this.#prematureEnd) {
      return this.#failure("truncated", `ended the stream before the generation finished`);
    }
    const what = this.#sawContent ? "before its final event" : "before any content";
    return this.#failure("truncated", `closed the stream ${what} (${terminalName})`);
  }

  #readFailure(error: unknown): GuardFailure {
    if (error instanceof UpstreamTimeoutError) {
      return this.#failure("stalled", `sent nothing for ${this.#options.config.idleMs} ms`);
    }
    const detail = error instanceof Error ? error.message : String(error);
    return this.#failure("truncated", `broke off the stream (${detail})`);
  }

  #failure(reason: GuardFailure["reason"], what: string): GuardFailure {
    return {
      reason,
      message: `upstream ${this.#options.targetLabel} ${what}; the answer is incomplete`,
    };
  }
}

/** Joins views that are adjacent in the same buffer, so one read becomes one write where it can. */
function mergeViews(parts: Uint8Array[]): Uint8Array[] {
  if (parts.length < 2) return parts;
  const merged: Uint8Array[] = [];
  let current = parts[0]!;
  for (let i = 1; i < parts.length; i++) {
    const next = parts[i]!;
    if (next.buffer === current.buffer && current.byteOffset + current.byteLength === next.byteOffset) {
      current = new Uint8Array(current.buffer, current.byteOffset, current.byteLength + next.byteLength);
    } else {
      merged.push(current);
      current = next;
    }
  }
  merged.push(current);
  return merged;
}

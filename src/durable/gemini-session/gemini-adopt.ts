/**
 * The wire format of a session's `/adopt` (Worker → `GeminiSession`, issue 13): the Worker made the first attempt
 * itself and serves the client from it; the object is fed off the critical path, so its log, counters and
 * continuations stay as they were. The body: the settings as one JSON line, the request's bytes (their length in a
 * header), then the first attempt as the Worker's engine saw it: one JSON line with its response head (or how the
 * call failed), then the response body's bytes exactly as they reached that engine, ended when it stopped reading.
 */
import type { EncodedRequest } from "../../gemini/continuation-bytes";
import { TIMEOUT } from "../../stream/repair-loop";
import { BUFFERED_BODY_LIMIT_BYTES } from "./capped-body";
import type { SessionStart } from "./gemini-session";
import { protectableRequest } from "./gemini-start";

/** The settings of an adopted session: a `SessionStart` plus when the Worker's engine started (epoch ms). */
export interface AdoptStart extends SessionStart {
  startedAt: number;
}

/** The first attempt's head as the Worker's engine took it, or how its call failed. */
export type FedHead =
  | { status: number; headers: [string, string][] }
  | { thrown: "timeout" | "error"; message: string };

const SETTINGS_BYTES_HEADER = "x-gemini-adopt-settings-bytes";
const REQUEST_BYTES_HEADER = "x-gemini-adopt-request-bytes";
const SETTINGS_LIMIT_BYTES = 1024 * 1024;
const HEAD_LIMIT_BYTES = 256 * 1024;
const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The Worker's end of the feed. Writes never wait: the order is kept, and the client is never held up by it. */
export class AdoptFeed {
  readonly body: ReadableStream<Uint8Array>;
  readonly headers: Record<string, string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #headSent = false;
  #ended = false;
  /** Bytes waiting while a write is in flight: sent together (one hop per batch, not one per upstream read). */
  #pending: Uint8Array[] = [];
  #writing = false;
  #closeWhenFlushed = false;
  /** A write failed: the object no longer reads (it is gone, or stopped the attempt). */
  dead = false;

  constructor(start: AdoptStart, request: Uint8Array) {
    const settings = encoder.encode(`${JSON.stringify(start)}\n`);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.body = readable;
    this.#writer = writable.getWriter();
    this.headers = {
      "content-type": "application/octet-stream",
      [SETTINGS_BYTES_HEADER]: String(settings.length),
      [REQUEST_BYTES_HEADER]: String(request.length),
    };
    this.#write(settings);
    this.#write(request);
  }

  get headSent(): boolean {
    return this.#headSent;
  }

  head(head: FedHead): void {
    if (this.#headSent || this.#ended) return;
    this.#headSent = true;
    this.#write(encoder.encode(`${JSON.stringify(head)}\n`));
  }

  write(chunk: Uint8Array): void {
    if (!this.#ended) this.#write(chunk);
  }

  /** The Worker's engine stopped reading the attempt (its end, a cut, a stall): the object reads the same end. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closeWhenFlushed = true;
    this.#flush();
  }

  #write(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#flush();
  }

  #flush(): void {
    if (this.#writing || this.dead) return;
    if (this.#pending.length === 0) {
      if (this.#closeWhenFlushed) {
        this.#closeWhenFlushed = false;
        this.#writer.close().catch(() => {});
      }
      return;
    }
    const batch = this.#pending.length === 1 ? (this.#pending[0] as Uint8Array) : concat(this.#pending);
    this.#pending = [];
    this.#writing = true;
    this.#writer.write(batch).then(
      () => {
        this.#writing = false;
        this.#flush();
      },
      () => {
        this.#writing = false;
        this.dead = true;
        this.#pending = [];
      },
    );
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The object's end of the first attempt: its response as the Worker's engine saw it, once. */
export interface FedAttempt {
  /** The fed response (body: the fed bytes); rejects like the call did (`TIMEOUT` for a first-byte timeout). */
  response(signal: AbortSignal): Promise<Response>;
  /**
   * Settles once the feed was read to its end or given up by the engine (`ended`), or broke (`failed`: the Worker
   * that fed it is gone).
   */
  readonly done: Promise<"ended" | "failed">;
  /** Stops reading the feed (the session ended, or never took the attempt). */
  cancel(): void;
}

export type AdoptRead =
  | { kind: "adopt"; start: AdoptStart; request: EncodedRequest; attempt: FedAttempt }
  | { kind: "malformed" };

/**
 * Reads `/adopt`: the settings and the request at once; the first attempt lazily, as the engine asks for it. A
 * request the Worker could not protect never comes here (it applied the same `protectableRequest`).
 */
export async function readAdopt(request: Request): Promise<AdoptRead> {
  const settingsBytes = Number(request.headers.get(SETTINGS_BYTES_HEADER));
  const requestBytes = Number(request.headers.get(REQUEST_BYTES_HEADER));
  if (
    request.body === null ||
    !Number.isInteger(settingsBytes) ||
    settingsBytes <= 0 ||
    settingsBytes > SETTINGS_LIMIT_BYTES ||
    !Number.isInteger(requestBytes) ||
    requestBytes < 0 ||
    requestBytes > BUFFERED_BODY_LIMIT_BYTES
  ) {
    return { kind: "malformed" };
  }
  const bytes = new ByteQueue(request.body.getReader());
  const head = await bytes.take(settingsBytes + requestBytes);
  if (head === null || head[settingsBytes - 1] !== NEWLINE) return { kind: "malformed" };
  let start: AdoptStart;
  try {
    start = JSON.parse(decoder.decode(head.subarray(0, settingsBytes - 1))) as AdoptStart;
  } catch {
    return { kind: "malformed" };
  }
  const encoded = protectableRequest(head.subarray(settingsBytes));
  if (encoded === null) return { kind: "malformed" };
  return { kind: "adopt", start, request: encoded, attempt: fedAttempt(bytes) };
}

function fedAttempt(bytes: ByteQueue): FedAttempt {
  let settle: (how: "ended" | "failed") => void = () => {};
  const done = new Promise<"ended" | "failed">((resolve) => {
    settle = resolve;
  });
  const giveUp = () => {
    bytes.cancel();
    settle("ended");
  };
  return {
    done,
    cancel: giveUp,
    async response(signal) {
      const onAbort = () => giveUp();
      signal.addEventListener("abort", onAbort, { once: true });
      let line: Uint8Array | null;
      try {
        line = await bytes.line(HEAD_LIMIT_BYTES);
      } catch (error) {
        bytes.cancel();
        settle("failed");
        throw error;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (signal.aborted || line === null) {
        giveUp();
        throw new Error(signal.aborted ? "aborted" : "the Worker's feed ended before the response head");
      }
      const fed = JSON.parse(decoder.decode(line)) as FedHead;
      if ("thrown" in fed) {
        giveUp();
        // The engine classifies exactly as the Worker's did: a first-byte timeout, or a failed call.
        if (fed.thrown === "timeout") throw TIMEOUT;
        throw new Error(fed.message);
      }
      const nullBody = fed.status === 204 || fed.status === 205 || fed.status === 304;
      const body = nullBody ? null : bytes.rest(settle);
      if (nullBody) giveUp();
      return new Response(body, { status: fed.status, headers: fed.headers });
    },
  };
}

/** A reader with a look-ahead buffer: exact-length and line reads, then the rest as a stream. */
class ByteQueue {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered: Uint8Array = new Uint8Array(0);

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** Exactly `n` bytes, in one buffer; null if the stream ends first. */
  async take(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.#buffered.length === 0) {
        const step = await this.#reader.read();
        if (step.done) return null;
        this.#buffered = step.value;
      }
      const piece = this.#buffered.subarray(0, n - filled);
      out.set(piece, filled);
      filled += piece.length;
      this.#buffered = this.#buffered.subarray(piece.length);
    }
    return out;
  }

  /** The bytes up to the next newline (without it); null if the stream ends first. */
  async line(limit: number): Promise<Uint8Array | null> {
    for (;;) {
      const nl = this.#buffered.indexOf(NEWLINE);
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.subarray(nl + 1);
        return line;
      }
      if (this.#buffered.length > limit) throw new Error("fed response head too large");
      const step = await this.#reader.read();
      if (step.done) return null;
      const joined = new Uint8Array(this.#buffered.length + step.value.length);
      joined.set(this.#buffered);
      joined.set(step.value, this.#buffered.length);
      this.#buffered = joined;
    }
  }

  /** The remaining bytes as a stream; `settled` runs once it ended, failed or was cancelled. */
  rest(settled: (how: "ended" | "failed") => void): ReadableStream<Uint8Array> {
    let first: Uint8Array | null = this.#buffered.length > 0 ? this.#buffered : null;
    this.#buffered = new Uint8Array(0);
    const reader = this.#reader;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (first !== null) {
          controller.enqueue(first);
          first = null;
          return;
        }
        try {
          const step = await reader.read();
          if (step.done) {
            controller.close();
            settled("ended");
          } else controller.enqueue(step.value);
        } catch (error) {
          settled("failed");
          controller.error(error);
        }
      },
      cancel(reason) {
        settled("ended");
        return reader.cancel(reason).catch(() => {});
      },
    });
  }

  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

import type { TransportKind } from "./endpoint";
import { UpstreamError } from "./errors";
import { type EgressRequest, fetchEgress } from "./fetch-egress";
import { sanitizeRequestHeaders } from "./header-policy";
import { type SocketAttempt, sendViaSocket } from "./socket-http";
import { type EgressTimeouts, resolveTimeouts } from "./timeouts";

/**
 * The one egress entry point (issue 3, DESIGN §6). Applies the header policy once, then sends through
 * the endpoint's transport: `fetch` endpoints use fetch only; `socket` endpoints go socket-first and
 * fall back to fetch by these rules:
 *
 * - nothing of the request was written (`before_write`: connect refused/timed out, TLS failed): always;
 * - written but no response byte yet (`after_write`): only with `aggressiveFallback`, and only when the
 *   request body can be replayed (below);
 * - any response byte arrived (`after_response`): never — the upstream answered; replaying could run
 *   the request twice, and a failure mid-body errors the body stream instead.
 *
 * Replaying a streamed request body: the socket attempt reads the client's stream through a recorder
 * that keeps a copy of what was read, up to `REPLAY_BUFFER_LIMIT_BYTES`. A fallback replays the copy
 * and then continues with the unread rest of the client's stream. A body larger than the limit is
 * streamed without a copy; once part of it was written, it cannot be replayed, so that request does not
 * fall back after write. Byte-array bodies are always replayable. The copy is dropped as soon as the
 * socket attempt has a response head.
 */

export type { EgressRequest } from "./fetch-egress";
export type { EgressTimeouts } from "./timeouts";

export interface EgressOptions {
  transport: TransportKind;
  /** `AGGRESSIVE_FALLBACK`: also fall back after the request was written, before any response byte. */
  aggressiveFallback: boolean;
  timeouts?: Partial<EgressTimeouts>;
}

export interface EgressResult {
  response: Response;
  transport: TransportKind;
  /** The socket failure's reason token when the response came from the fetch fallback. */
  fallbackReason: string | null;
}

/** How much of a streamed request body is kept for a possible replay through fetch. */
export const REPLAY_BUFFER_LIMIT_BYTES = 8 * 1024 * 1024;

export const TRANSPORT_HEADER = "x-proxy-transport";
export const FALLBACK_HEADER = "x-proxy-fallback";

/** The two transports, injectable so tests can force each failure phase deterministically. */
export interface EgressTransports {
  sendViaSocket: typeof sendViaSocket;
  fetchEgress: typeof fetchEgress;
}

/** Builds an `egress` over the given transports (tests); production code uses `egress` below. */
export function createEgress(transports: EgressTransports) {
  return async function egressWith(req: EgressRequest, opts: EgressOptions): Promise<EgressResult> {
    const timeouts = resolveTimeouts(opts.timeouts);
    const clean: EgressRequest = { ...req, headers: sanitizeRequestHeaders(req.headers) };
    if (opts.transport === "fetch") {
      return tag(await transports.fetchEgress(clean, timeouts), "fetch", null);
    }

    const recorder =
      clean.body instanceof ReadableStream ? new BodyRecorder(clean.body, REPLAY_BUFFER_LIMIT_BYTES) : null;
    const attempt: SocketAttempt = { wroteRequest: false, receivedResponse: false };
    try {
      const body = recorder ? recorder.stream() : clean.body;
      const response = await transports.sendViaSocket({ ...clean, body }, timeouts, { attempt });
      recorder?.release();
      return tag(response, "socket", null);
    } catch (error) {
      if (!shouldFallBack(error, attempt, opts.aggressiveFallback, req.signal)) throw error;
      const body = recorder ? recorder.replay() : clean.body;
      // The body was too large to keep a copy of and part of it is already sent: cannot replay.
      if (body === null && recorder) throw error;
      const response = await transports.fetchEgress({ ...clean, body }, timeouts);
      return tag(response, "fetch", (error as UpstreamError).reason);
    }
  };
}

/** Sends a request upstream through the endpoint's transport (see the rules above). */
export const egress: (req: EgressRequest, opts: EgressOptions) => Promise<EgressResult> = createEgress({
  sendViaSocket,
  fetchEgress,
});

/** DESIGN §6 fallback rules, on a failure of the socket attempt. */
export function shouldFallBack(
  error: unknown,
  attempt: SocketAttempt,
  aggressiveFallback: boolean,
  signal?: AbortSignal,
): boolean {
  // Client mistakes (400) and client aborts are not transport failures: fetch would fail the same way.
  if (!(error instanceof UpstreamError) || signal?.aborted) return false;
  if (error.phase === "after_response" || attempt.receivedResponse) return false;
  if (error.phase === "before_write") return true;
  return aggressiveFallback;
}

function tag(response: Response, transport: TransportKind, fallbackReason: string | null): EgressResult {
  let out = response;
  try {
    out.headers.set(TRANSPORT_HEADER, transport);
  } catch {
    // Immutable headers (a Response straight from fetch()): copy once.
    out = new Response(response.body, response);
    out.headers.set(TRANSPORT_HEADER, transport);
  }
  if (fallbackReason) out.headers.set(FALLBACK_HEADER, fallbackReason);
  return { response: out, transport, fallbackReason };
}

/**
 * Wraps a client body stream for one socket attempt and a possible replay: `stream()` is what the
 * socket reads (each chunk copied into a record while under the limit); `replay()` yields the record,
 * then the rest of the client's stream. Reads from the client are strictly sequential, so the replay
 * sees every byte exactly once and in order, including a read still in flight when the socket failed.
 */
export class BodyRecorder {
  readonly #source: ReadableStreamDefaultReader<Uint8Array>;
  readonly #limit: number;
  #record: Uint8Array[] | null = [];
  #recordedBytes = 0;
  #inflight: Promise<void> | null = null;
  #sourceDone = false;
  #detached = false;

  constructor(source: ReadableStream<Uint8Array>, limitBytes: number) {
    this.#source = source.getReader();
    this.#limit = limitBytes;
  }

  /** True while a replay would reproduce the whole body. */
  get replayable(): boolean {
    return this.#record !== null;
  }

  /** The body for the first attempt. Cancelling it does not cancel the client's stream. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (this.#detached) return controller.close();
          let chunk: ReadableStreamReadResult<Uint8Array> | undefined;
          const read = this.#source.read().then((result) => {
            chunk = result;
            this.#remember(result);
          });
          this.#inflight = read;
          try {
            await read;
          } finally {
            this.#inflight = null;
          }
          if (!chunk || chunk.done || this.#detached) controller.close();
          else controller.enqueue(chunk.value);
        },
        cancel: () => {
          this.#detached = true;
        },
      },
      { highWaterMark: 0 },
    );
  }

  #remember(result: ReadableStreamReadResult<Uint8Array>): void {
    if (result.done) {
      this.#sourceDone = true;
      return;
    }
    if (this.#record === null) return;
    this.#recordedBytes += result.value.length;
    // Once a replay started, a read that was in flight must land in the record whatever its size.
    if (this.#recordedBytes > this.#limit && !this.#detached) {
      this.#record = null; // too large to keep: stream on without a copy
      return;
    }
    // A copy: the socket writer may hand the original buffer to the runtime.
    this.#record.push(result.value.slice());
  }

  /** Drops the record (the attempt got a response; no replay will be needed). */
  release(): void {
    this.#record = null;
  }

  /** The whole body again, or `null` when part of it was consumed without a copy. */
  replay(): ReadableStream<Uint8Array> | null {
    if (this.#record === null) return null;
    this.#detached = true;
    const record = this.#record;
    let index = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            const kept = record[index];
            if (kept) {
              record[index++] = new Uint8Array(0); // let the copy go once replayed
              return controller.enqueue(kept);
            }
            // A read the first attempt started lands in the record: wait for it, then look again.
            if (this.#inflight) {
              await this.#inflight.catch(() => {});
              continue;
            }
            if (this.#sourceDone) return controller.close();
            const { done, value } = await this.#source.read();
            if (done) return controller.close();
            return controller.enqueue(value);
          }
        },
        cancel: (reason) => this.#source.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }
}

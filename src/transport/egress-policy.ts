import { type ChunkReader, largeChunkReader } from "./byte-reader";
import { UpstreamError } from "./errors";

/**
 * The pure half of egress (no `cloudflare:*` imports, unit-tested in Node): when a failed socket
 * attempt may fall back to fetch (DESIGN §6), and how a streamed request body is kept for that replay.
 */

/** What happened on the wire during a socket attempt; filled in by `sendViaSocket`. */
export interface SocketAttempt {
  /** A request byte was handed to the socket (it may have reached the upstream). */
  wroteRequest: boolean;
  /** A response byte arrived. */
  receivedResponse: boolean;
}

/** How much of a streamed request body is kept for a possible replay through fetch. */
export const REPLAY_BUFFER_LIMIT_BYTES = 8 * 1024 * 1024;

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

/**
 * Wraps a client body stream for one socket attempt and a possible replay: `stream()` is what the
 * socket reads (each chunk copied into a record while under the limit); `replay()` yields the record,
 * then the rest of the client's stream. Reads from the client are strictly sequential, so the replay
 * sees every byte exactly once and in order, including a read still in flight when the socket failed.
 */
export class BodyRecorder {
  readonly #source: ChunkReader;
  readonly #limit: number;
  #record: Uint8Array[] | null = [];
  #recordedBytes = 0;
  #inflight: Promise<void> | null = null;
  #sourceDone = false;
  #detached = false;

  constructor(source: ReadableStream<Uint8Array>, limitBytes: number) {
    this.#source = largeChunkReader(source);
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

/**
 * A request body the caller already holds in memory, as pieces sent back to back: views into buffers the caller
 * keeps (a Gemini session's copy of the client's request) around a few new parts (a continuation's added turns).
 * It can be sent any number of times from the same bytes, so nothing on the way copies it: the socket writes the
 * views, a fallback to fetch and a failover to another target send the same pieces again, and no replay record is
 * kept (`egress.ts`). A one-shot `ReadableStream` body, by contrast, must be recorded to be replayed.
 *
 * The pieces are never modified and never detached: every transport is handed views (`subarray`) of them, and
 * workerd's socket writer and `fetch()` read a view without taking its buffer (tested under workerd in
 * `test/integration/egress-held-body.test.ts`).
 */

/** Largest view handed to a transport in one write or one stream chunk. */
export const HELD_SLICE_BYTES = 64 * 1024;

export class HeldBody {
  readonly pieces: readonly Uint8Array[];
  readonly byteLength: number;

  constructor(pieces: readonly Uint8Array[]) {
    this.pieces = pieces.filter((p) => p.length > 0);
    this.byteLength = this.pieces.reduce((n, p) => n + p.length, 0);
  }

  /** The body as views of at most `HELD_SLICE_BYTES`, in order: what a transport writes. */
  *slices(): Generator<Uint8Array> {
    for (const piece of this.pieces) {
      for (let at = 0; at < piece.length; at += HELD_SLICE_BYTES) {
        yield piece.subarray(at, at + HELD_SLICE_BYTES);
      }
    }
  }

  /**
   * A new stream of the body for a transport that takes one (`fetch()`): pull-based views, so it holds no copy
   * and reads no further ahead than the transport asks.
   */
  stream(): ReadableStream<Uint8Array> {
    const slices = this.slices();
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const next = slices.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** Every body form the transports accept. */
export type RequestBody = ReadableStream<Uint8Array> | Uint8Array | HeldBody | null;

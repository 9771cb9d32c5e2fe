/**
 * Request bodies for failover: a body is replayable on another target only if it is held in
 * memory. Bodies up to a limit are buffered before the first attempt; a larger (or unknown-length
 * streaming) body that exceeds the limit is streamed straight through once and not failed over.
 * A body the caller already holds (`HeldBody`, a Gemini session's request) is replayable at any size
 * and is never copied: every attempt sends the same pieces.
 */
import { largeChunkReader } from "../../transport/byte-reader";
import { concatBytes } from "../../transport/bytes";
import { HeldBody, type RequestBody } from "../../transport/held-body";
import { readWhole, SMALL_BODY_BYTES } from "../../transport/small-body";

export interface ReplayableBody {
  /** True when every attempt can get the whole body again. */
  readonly replayable: boolean;
  /** The body for the next attempt (a fresh copy when replayable). */
  next(): RequestBody;
  /**
   * The buffered body itself, to read in place (never modify it, never hand it to a transport);
   * `undefined` when the body streams through unbuffered.
   */
  readonly held: Uint8Array | null | undefined;
}

function fixed(bytes: Uint8Array | null): ReplayableBody {
  return {
    replayable: true,
    held: bytes,
    // A copy per attempt: a transport may transfer (detach) the buffer it is given.
    next: () => (bytes === null ? null : bytes.slice()),
  };
}

function held(body: HeldBody): ReplayableBody {
  return {
    replayable: true,
    // Read in place by an inspector; several pieces are not one buffer to read, and are not joined for it.
    held: body.pieces.length === 1 ? (body.pieces[0] as Uint8Array) : undefined,
    next: () => body,
  };
}

function oneShot(stream: ReadableStream<Uint8Array>): ReplayableBody {
  let used = false;
  return {
    replayable: false,
    held: undefined,
    next: () => {
      if (used) throw new Error("a streamed request body can be sent only once");
      used = true;
      return stream;
    },
  };
}

/**
 * Buffers `body` when it fits in `limitBytes`. `contentLength` (from the request head, when known)
 * lets a body that is announced as too large skip buffering altogether.
 */
export async function prepareReplayableBody(
  body: RequestBody,
  contentLength: number | null,
  limitBytes: number,
): Promise<ReplayableBody> {
  if (body instanceof HeldBody) return held(body);
  if (body === null || body instanceof Uint8Array) return fixed(body);
  if (contentLength !== null && contentLength > limitBytes) return oneShot(body);
  // The usual small JSON body: read by the runtime in one call rather than a JavaScript loop.
  if (contentLength !== null && contentLength <= SMALL_BODY_BYTES) return fixed(await readWhole(body));
  const reader = largeChunkReader(body);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return fixed(concatBytes(chunks, size));
    chunks.push(value);
    size += value.byteLength;
    if (size > limitBytes) break;
  }
  // Over the limit: send what was read, then the rest of the original stream, exactly once.
  const buffered = chunks;
  const rest = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const head = buffered.shift();
      if (head) {
        controller.enqueue(head);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return oneShot(rest);
}

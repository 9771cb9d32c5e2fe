/**
 * Reading upstream bodies in large chunks. A default reader on a native workerd byte stream hands
 * JavaScript 4 KiB chunks, which costs about 10× in throughput against a native pass-through
 * (`bench/repro/stream-chunking.mjs`); a BYOB reader with a 64 KiB buffer keeps chunks large.
 */

/** Buffer offered to each BYOB read. */
export const READ_BUFFER_BYTES = 64 * 1024;
/** Reads smaller than this are copied out, so a few bytes (an SSE delta) do not pin a whole buffer. */
export const SMALL_READ_COPY_BYTES = 8 * 1024;

export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/**
 * Read buffers whose bytes were copied out, kept for the next read of any reader in the isolate. A small response (a
 * head, an SSE delta, the final empty read) then costs no new 64 KiB allocation per read: one per socket and per
 * body showed as allocation and garbage-collector time in the hot path's profile. A BYOB read transfers the buffer
 * it is given, so the one to keep is the result's; nothing else refers to it once its bytes were copied.
 */
const spareBuffers: ArrayBuffer[] = [];
/** Spare buffers kept at most (512 KiB): enough for the reads in flight at once in a busy isolate. */
const SPARE_BUFFERS_MAX = 8;

function takeBuffer(): ArrayBuffer {
  return spareBuffers.pop() ?? new ArrayBuffer(READ_BUFFER_BYTES);
}

function giveBack(view: Uint8Array | undefined): void {
  const buffer = view?.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    buffer.byteLength === READ_BUFFER_BYTES &&
    spareBuffers.length < SPARE_BUFFERS_MAX
  )
    spareBuffers.push(buffer);
}

/** A reader of `stream` in large chunks; falls back to a default reader for non-byte streams. */
export function largeChunkReader(stream: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    return stream.getReader();
  }
  return {
    async read() {
      const result = await byob.read(new Uint8Array(takeBuffer()));
      if (result.done || result.value === undefined) {
        // A closed stream hands the (empty) buffer back too.
        giveBack((result as { value?: Uint8Array }).value);
        return { done: true, value: undefined };
      }
      const value = result.value;
      if (value.byteLength >= SMALL_READ_COPY_BYTES) return { done: false, value };
      const copy = value.slice();
      giveBack(value);
      return { done: false, value: copy };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}

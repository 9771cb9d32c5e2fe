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
      const result = await byob.read(new Uint8Array(READ_BUFFER_BYTES));
      if (result.done || result.value === undefined) return { done: true, value: undefined };
      const value = result.value;
      return { done: false, value: value.byteLength < SMALL_READ_COPY_BYTES ? value.slice() : value };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}

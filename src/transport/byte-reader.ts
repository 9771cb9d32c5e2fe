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
  // The buffer of a read whose bytes were copied out is offered again: a small response (a head, an SSE delta, the
  // final empty read) then costs no new 64 KiB allocation per read, which showed as garbage-collector time in the
  // hot path's profile. A BYOB read transfers the buffer it is given, so the one to reuse is the result's.
  let spare: ArrayBuffer | null = null;
  return {
    async read() {
      const buffer = spare ?? new ArrayBuffer(READ_BUFFER_BYTES);
      spare = null;
      const result = await byob.read(new Uint8Array(buffer));
      if (result.done || result.value === undefined) {
        // A closed stream hands the (empty) buffer back too.
        const back = (result as { value?: Uint8Array }).value;
        if (back?.buffer.byteLength === READ_BUFFER_BYTES) spare = back.buffer as ArrayBuffer;
        return { done: true, value: undefined };
      }
      const value = result.value;
      if (value.byteLength >= SMALL_READ_COPY_BYTES) return { done: false, value };
      const copy = value.slice();
      if (value.buffer.byteLength === READ_BUFFER_BYTES) spare = value.buffer as ArrayBuffer;
      return { done: false, value: copy };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}

import { describe, expect, it } from "vitest";
import { largeChunkReader, READ_BUFFER_BYTES, SMALL_READ_COPY_BYTES } from "./byte-reader";

/** A byte stream that hands out the given chunks, one per pull, through the BYOB request when there is one. */
function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk === undefined) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      if (request?.view) {
        const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
        view.set(chunk);
        request.respond(chunk.byteLength);
      } else {
        controller.enqueue(chunk.slice());
      }
    },
  }) as ReadableStream<Uint8Array>;
}

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte);

describe("largeChunkReader", () => {
  it("keeps every small chunk intact while its read buffer is reused for the next reads", async () => {
    const reader = largeChunkReader(byteStream([filled(10, 1), filled(20, 2), filled(30, 3)]));
    const got: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(value);
    }
    expect(got.map((c) => [c.byteLength, c[0], c[c.byteLength - 1]])).toEqual([
      [10, 1, 1],
      [20, 2, 2],
      [30, 3, 3],
    ]);
    // Each small chunk is a copy of its own size, never a view into the shared 64 KiB buffer.
    for (const chunk of got) expect(chunk.buffer.byteLength).toBe(chunk.byteLength);
  });

  it("hands out large reads without a copy, and a later read does not overwrite them", async () => {
    const big = filled(SMALL_READ_COPY_BYTES * 2, 7);
    const reader = largeChunkReader(byteStream([filled(5, 1), big, filled(5, 9), filled(5, 4)]));
    const first = await reader.read();
    const second = await reader.read();
    const third = await reader.read();
    const fourth = await reader.read();
    expect(first.value?.[0]).toBe(1);
    expect(second.value?.byteLength).toBe(big.byteLength);
    expect(second.value?.buffer.byteLength).toBe(READ_BUFFER_BYTES);
    expect(second.value?.every((b) => b === 7)).toBe(true);
    expect(third.value?.[0]).toBe(9);
    expect(fourth.value?.[0]).toBe(4);
    expect((await reader.read()).done).toBe(true);
  });

  it("shares spare buffers between readers without one reader's chunks changing under another's reads", async () => {
    const first = largeChunkReader(byteStream([filled(10, 1)]));
    const kept = (await first.read()).value as Uint8Array;
    expect((await first.read()).done).toBe(true);
    // The next readers take the buffers `first` gave back.
    for (const byte of [2, 3, 4]) {
      const next = largeChunkReader(byteStream([filled(100, byte)]));
      expect((await next.read()).value?.every((b) => b === byte)).toBe(true);
      expect((await next.read()).done).toBe(true);
    }
    expect(kept.every((b) => b === 1)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { RequestBodyTooLargeError, readCappedBody, readUpTo } from "./capped-body";

/** A stream of `sizes` chunks of 0x61; `byob` makes it a byte stream (the runtime's request bodies are). */
function body(sizes: number[], byob: boolean): { stream: ReadableStream<Uint8Array>; reads: () => number } {
  let i = 0;
  const pull = (controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) => {
    const n = sizes[i++];
    if (n === undefined) {
      controller.close();
      // A byte source closing under a pending BYOB read must answer it with 0 bytes (Streams spec).
      if ("byobRequest" in controller) controller.byobRequest?.respond(0);
      return;
    }
    controller.enqueue(new Uint8Array(n).fill(0x61));
  };
  const stream = byob
    ? new ReadableStream({ type: "bytes", pull })
    : new ReadableStream<Uint8Array>({ pull });
  return { stream: stream as ReadableStream<Uint8Array>, reads: () => i };
}

describe("readCappedBody", () => {
  for (const byob of [true, false]) {
    const kind = byob ? "byte stream" : "default stream";

    it(`${kind}: a body of exactly the limit is read whole, with or without a length`, async () => {
      for (const length of [10, null]) {
        const bytes = await readCappedBody(body([4, 6], byob).stream, length, 10);
        expect(bytes).toEqual(new Uint8Array(10).fill(0x61));
      }
    });

    it(`${kind}: a declared length over the limit is refused before reading`, async () => {
      const b = body([4, 6, 1], byob);
      await expect(readCappedBody(b.stream, 11, 10)).rejects.toBeInstanceOf(RequestBodyTooLargeError);
      expect(b.reads()).toBeLessThanOrEqual(1);
    });

    it(`${kind}: without a length, the read stops as soon as the count passes the limit`, async () => {
      const b = body([4, 6, 1, 100, 100, 100], byob);
      const error = await readCappedBody(b.stream, null, 10).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestBodyTooLargeError);
      expect((error as RequestBodyTooLargeError).status).toBe(413);
      expect((error as RequestBodyTooLargeError).message).toContain("at most 10 bytes");
      expect(b.reads()).toBeLessThanOrEqual(4);
    });
  }

  it("a body that disagrees with its declared length is an error, never truncated", async () => {
    await expect(readCappedBody(body([4], true).stream, 10, 100)).rejects.toThrow(/ended before/);
    await expect(readCappedBody(body([4, 6, 3], true).stream, 10, 100)).rejects.toThrow(/longer than/);
  });

  it("no body is an empty body", async () => {
    expect(await readCappedBody(null, null, 10)).toEqual(new Uint8Array(0));
  });
});

describe("readUpTo", () => {
  it("returns a body that fits whole", async () => {
    const read = await readUpTo(body([3, 4], false).stream, 8);
    expect("whole" in read && read.whole.length).toBe(7);
  });

  it("stops once past the limit and yields every byte, the ones read first included, as a stream", async () => {
    const src = body([3, 4, 5, 6], false);
    const read = await readUpTo(src.stream, 5);
    expect("stream" in read).toBe(true);
    // Two chunks read (7 bytes > 5), a third at most queued by the source; the last is pulled only by the stream.
    expect(src.reads()).toBeLessThanOrEqual(3);
    const all = new Uint8Array(await new Response((read as { stream: ReadableStream }).stream).arrayBuffer());
    expect(all.length).toBe(18);
  });
});

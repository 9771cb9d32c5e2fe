import { describe, expect, it } from "vitest";
import { HeldBody, type RequestBody } from "../../transport/held-body";
import { prepareReplayableBody } from "./replay-body";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function text(body: RequestBody): Promise<string> {
  if (body === null) return "";
  return new Response(body instanceof HeldBody ? body.stream() : body).text();
}

describe("prepareReplayableBody", () => {
  it("buffers a small stream and replays it", async () => {
    const b = await prepareReplayableBody(streamOf("ab", "cd"), null, 10);
    expect(b.replayable).toBe(true);
    expect(await text(b.next())).toBe("abcd");
    expect(await text(b.next())).toBe("abcd");
  });

  it("streams a body over the limit once, bytes intact", async () => {
    const b = await prepareReplayableBody(streamOf("abc", "def", "ghi"), null, 4);
    expect(b.replayable).toBe(false);
    expect(await text(b.next())).toBe("abcdefghi");
    expect(() => b.next()).toThrow(/only once/);
  });

  it("skips buffering when Content-Length announces a large body", async () => {
    const b = await prepareReplayableBody(streamOf("x"), 100, 10);
    expect(b.replayable).toBe(false);
  });

  it("treats null and byte arrays as replayable copies", async () => {
    expect((await prepareReplayableBody(null, null, 1)).next()).toBeNull();
    const bytes = new Uint8Array([1, 2, 3]);
    const b = await prepareReplayableBody(bytes, null, 1);
    const first = b.next() as Uint8Array;
    expect(first).toEqual(bytes);
    expect(first).not.toBe(bytes);
  });
});

describe("prepareReplayableBody with a held body", () => {
  it("is replayable at any size and hands every attempt the same pieces, never a copy", async () => {
    const source = new TextEncoder().encode("0123456789");
    const held = new HeldBody([source.subarray(0, 4), source.subarray(4)]);
    // A limit far below the body: a held body is already in memory, so the limit (a buffering bound) does not apply.
    const b = await prepareReplayableBody(held, held.byteLength, 1);
    expect(b.replayable).toBe(true);
    expect(b.next()).toBe(held);
    expect(b.next()).toBe(held);
    expect(await text(b.next())).toBe("0123456789");
    expect(await text(b.next())).toBe("0123456789");
    // Several pieces are not one buffer an inspector could read in place.
    expect(b.held).toBeUndefined();
    expect((await prepareReplayableBody(new HeldBody([source]), null, 1)).held).toBe(source);
  });
});

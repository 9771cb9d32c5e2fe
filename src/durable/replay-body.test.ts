import { describe, expect, it } from "vitest";
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

async function text(body: ReadableStream<Uint8Array> | Uint8Array | null): Promise<string> {
  if (body === null) return "";
  return new Response(body).text();
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

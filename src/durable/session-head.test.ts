import { describe, expect, it } from "vitest";
import { encodeHead, unframeResponse } from "./session-head";

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(c) {
      const p = parts.shift();
      if (p === undefined) c.close();
      else c.enqueue(p);
    },
  });
}

describe("session response framing", () => {
  it("round-trips status, headers and body, however the bytes are split", async () => {
    const framed = new Uint8Array([
      ...encodeHead({ status: 429, headers: [["retry-after", "3"]] }),
      ...new TextEncoder().encode('{"error":{}}\nmore'),
    ]);
    for (const cut of [1, 5, 30, framed.length - 1]) {
      const res = await unframeResponse(streamOf([framed.slice(0, cut), framed.slice(cut)]));
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("3");
      expect(await res.text()).toBe('{"error":{}}\nmore');
    }
  });

  it("propagates cancellation to the framed stream", async () => {
    let cancelled = false;
    const framed = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encodeHead({ status: 200, headers: [] }));
      },
      cancel() {
        cancelled = true;
      },
    });
    const res = await unframeResponse(framed);
    await res.body?.cancel();
    expect(cancelled).toBe(true);
  });

  it("fails on a stream that ends before its head", async () => {
    await expect(unframeResponse(streamOf([new TextEncoder().encode('{"status"')]))).rejects.toThrow(
      /before/,
    );
  });
});

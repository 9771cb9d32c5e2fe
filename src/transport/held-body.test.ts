import { describe, expect, it } from "vitest";
import { HELD_SLICE_BYTES, HeldBody } from "./held-body";

const encoder = new TextEncoder();

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

function join(parts: readonly Uint8Array[]): string {
  return parts.map((p) => new TextDecoder().decode(p)).join("");
}

describe("HeldBody", () => {
  it("sends its pieces in order, as views of the caller's buffers (no copy)", () => {
    const source = new Uint8Array(HELD_SLICE_BYTES * 2 + 10).fill(0x61);
    const body = new HeldBody([source.subarray(0, 100), encoder.encode("NEW"), source.subarray(100)]);
    expect(body.byteLength).toBe(source.length + 3);
    const slices = [...body.slices()];
    expect(slices.every((s) => s.length <= HELD_SLICE_BYTES)).toBe(true);
    expect(slices.reduce((n, s) => n + s.length, 0)).toBe(body.byteLength);
    // Every slice of the original is a view into the caller's buffer, not a copy of it.
    const views = slices.filter((s) => s.buffer === source.buffer);
    expect(views.reduce((n, s) => n + s.length, 0)).toBe(source.length);
    expect(join(slices)).toBe(`${"a".repeat(100)}NEW${"a".repeat(source.length - 100)}`);
  });

  it("re-sends identical bytes from every new stream, and the pieces stay intact", async () => {
    const source = encoder.encode('{"contents":[{"role":"user","parts":[{"text":"héllo"}]}]}');
    const before = source.slice();
    const body = new HeldBody([source.subarray(0, 20), encoder.encode(" "), source.subarray(20)]);
    const first = join(await collect(body.stream()));
    const second = join(await collect(body.stream()));
    expect(second).toBe(first);
    expect(first).toBe(
      `${new TextDecoder().decode(source.subarray(0, 20))} ${new TextDecoder().decode(source.subarray(20))}`,
    );
    expect(source).toEqual(before);
    expect(body.pieces[0]?.buffer).toBe(source.buffer);
  });

  it("reads no further ahead than its reader asks (pull-based)", async () => {
    const body = new HeldBody([new Uint8Array(HELD_SLICE_BYTES * 4)]);
    let pulled = 0;
    const stream = body.stream().pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          pulled++;
          c.enqueue(chunk);
        },
      }),
    );
    const reader = stream.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 0));
    // One slice read, at most a couple queued by the transform's own buffers: never the whole body.
    expect(pulled).toBeLessThan(4);
    await reader.cancel();
  });

  it("drops empty pieces", () => {
    const body = new HeldBody([new Uint8Array(0), encoder.encode("x"), new Uint8Array(0)]);
    expect(body.pieces).toHaveLength(1);
    expect([...body.slices()]).toHaveLength(1);
  });
});

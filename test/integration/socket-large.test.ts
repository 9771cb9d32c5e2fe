import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import { RawTcpControl, type ReceivedRequest } from "../mocks/rawtcp-protocol";

/**
 * 50 MB each way through the socket path, generated and verified on the fly so neither the test nor
 * the gateway holds the payload; backpressure is shown by how far the mock got while nobody read.
 */
const mock = new RawTcpControl(inject("mockPorts"));
const MB = 1024 * 1024;
const TOTAL = 50 * MB;
const SLICE = 256 * 1024;

/** Byte i of the generated payload is `i % 251` (the mock's download uses the same pattern). */
function patternStream(total: number): ReadableStream<Uint8Array> {
  const block = new Uint8Array(SLICE + 251);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (offset >= total) return c.close();
      const n = Math.min(SLICE, total - offset);
      const start = offset % 251;
      c.enqueue(block.slice(start, start + n));
      offset += n;
    },
  });
}

async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await stream.pipeTo(digest);
  return [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads a body checking every byte against the pattern; returns the byte count. */
async function verifyPattern(reader: ReadableStreamDefaultReader<Uint8Array>, startAt = 0): Promise<number> {
  let offset = startAt;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return offset;
    for (let i = 0; i < value.length; i++) {
      if (value[i] !== (offset + i) % 251) throw new Error(`byte ${offset + i} is wrong`);
    }
    offset += value.length;
  }
}

describe("50 MB through the socket path", () => {
  it.each([
    ["Content-Length", { "content-length": String(TOTAL) }],
    ["chunked", {}],
  ] as const)("uploads 50 MB streamed (%s)", async (_, headers) => {
    const id = await mock.script([{ echo: true }]);
    const { response, transport } = await egress(
      { method: "PUT", url: mock.url(id), headers: new Headers(headers), body: patternStream(TOTAL) },
      { transport: "socket", aggressiveFallback: false },
    );
    expect(transport).toBe("socket");
    const echo = (await response.json()) as ReceivedRequest;
    expect(echo.bodyLength).toBe(TOTAL);
    expect(echo.bodySha256).toBe(await sha256Of(patternStream(TOTAL)));
  });

  it.each([
    ["Content-Length", false],
    ["chunked", true],
  ] as const)("downloads 50 MB streamed with backpressure (%s)", async (_, chunked) => {
    const id = await mock.script([{ download: { bytes: TOTAL, chunked } }]);
    const { response } = await egress(
      { method: "GET", url: mock.url(id), headers: new Headers(), body: null },
      { transport: "socket", aggressiveFallback: false },
    );
    expect(response.headers.get("content-length")).toBe(chunked ? null : String(TOTAL));
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstLength = first.value?.length ?? 0;
    expect(firstLength).toBeGreaterThan(0);

    // Nobody reads now. With backpressure the mock's writes block once the socket buffers are full;
    // without it the gateway would drain all 50 MB into memory. Wait until the mock stops advancing.
    let sent = -1;
    for (let stable = 0, polls = 0; stable < 5 && polls < 200; polls++) {
      await new Promise((r) => setTimeout(r, 20));
      const now = (await mock.received(id)).requests[0]?.downloadBytesSent ?? 0;
      stable = now === sent ? stable + 1 : 0;
      sent = now;
    }
    expect(sent).toBeLessThan(TOTAL / 4);

    const total = await verifyPattern(reader, firstLength);
    expect(total).toBe(TOTAL);
  });
});

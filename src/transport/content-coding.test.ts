import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeBody, narrowAcceptEncoding, responseCoding } from "./content-coding";
import { UpstreamProtocolError, UpstreamTimeoutError } from "./errors";

describe("narrowAcceptEncoding", () => {
  it.each([
    [null, null],
    ["gzip, deflate, br", "gzip, deflate"],
    ["br;q=1.0, gzip;q=0.8, *;q=0.1", "gzip;q=0.8"],
    ["br, zstd", "identity"],
    ["identity", "identity"],
    ["GZIP", "GZIP"],
  ])("%j → %j", (input, expected) => {
    expect(narrowAcceptEncoding(input)).toBe(expected);
  });
});

describe("responseCoding", () => {
  it.each([
    [null, null],
    ["", null],
    ["identity", null],
    ["gzip", "gzip"],
    ["X-Gzip", "gzip"],
    ["deflate", "deflate"],
    ["br", "passthrough"],
    ["gzip, br", "passthrough"],
    ["compress", "passthrough"],
  ])("%j → %j", (input, expected) => {
    expect(responseCoding(input)).toBe(expected);
  });
});

const streamOf = (...parts: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });

describe("decodeBody", () => {
  it("decodes gzip split at any point", async () => {
    const gz = gzipSync(Buffer.from("hello, decoded world"));
    const body = decodeBody(streamOf(gz.subarray(0, 7), gz.subarray(7)), "gzip");
    expect(await new Response(body).text()).toBe("hello, decoded world");
  });

  it("errors with UpstreamProtocolError on a corrupt body", async () => {
    const body = decodeBody(streamOf(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), "gzip");
    await expect(new Response(body).text()).rejects.toBeInstanceOf(UpstreamProtocolError);
  });

  it("keeps an upstream failure's own type", async () => {
    const failing = new ReadableStream<Uint8Array>({
      pull(c) {
        c.error(new UpstreamTimeoutError("idle", 5, "after_response"));
      },
    });
    await expect(new Response(decodeBody(failing, "gzip")).text()).rejects.toBeInstanceOf(
      UpstreamTimeoutError,
    );
  });
});

import { describe, expect, inject, it } from "vitest";
import { egress } from "../../src/transport/egress";
import { RawTcpControl, type ReceivedRequest } from "../mocks/rawtcp-protocol";

/**
 * Content codings on the socket path behave like workerd's fetch(): gzip is decoded (consumers such
 * as the Gemini stream parser see plain bytes), codings the runtime cannot decode pass through
 * byte-exact, and the upstream is only offered codings the gateway can decode.
 */
const mock = new RawTcpControl(inject("mockPorts"));

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

const get = (url: string, headers: HeadersInit = {}) =>
  egress(
    { method: "GET", url, headers: new Headers(headers), body: null },
    { transport: "socket", aggressiveFallback: false },
  );

describe("socket egress: content codings", () => {
  it("decodes a gzip body like fetch() and drops the encoded length", async () => {
    const gz = await gzip("data: decoded stream\n\n");
    const head = `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ncontent-length: ${gz.length}\r\n\r\n`;
    const id = await mock.script([{ text: head }, { write: b64(gz) }, { hang: true }]);
    const { response } = await get(mock.url(id), { "accept-encoding": "gzip" });
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(response.headers.get("content-length")).toBeNull();
    expect(await response.text()).toBe("data: decoded stream\n\n");
  });

  it("decodes a chunked gzip body", async () => {
    const gz = await gzip("chunked and compressed");
    const half = Math.floor(gz.length / 2);
    const chunk = (bytes: Uint8Array) => [
      { text: `${bytes.length.toString(16)}\r\n` },
      { write: b64(bytes) },
      { text: "\r\n" },
    ];
    const id = await mock.script([
      { text: "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n" },
      ...chunk(gz.subarray(0, half)),
      ...chunk(gz.subarray(half)),
      { text: "0\r\n\r\n" },
    ]);
    const { response } = await get(mock.url(id), { "accept-encoding": "gzip" });
    expect(await response.text()).toBe("chunked and compressed");
  });

  it("passes a coding it cannot decode through byte-exact", async () => {
    const raw = new Uint8Array([0x0b, 0x02, 0x80, 0x68, 0x69, 0x03]);
    const id = await mock.script([
      { text: `HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: ${raw.length}\r\n\r\n` },
      { write: b64(raw) },
    ]);
    const { response } = await get(mock.url(id));
    expect(response.headers.get("content-encoding")).toBe("br");
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([...raw]);
  });

  it("offers the upstream only codings it can decode", async () => {
    const echo = async (headers: HeadersInit) => {
      const id = await mock.script([{ echo: true }]);
      const { response } = await get(mock.url(id), headers);
      const received = (await response.json()) as ReceivedRequest;
      return received.headers.find(([n]) => n.toLowerCase() === "accept-encoding")?.[1];
    };
    expect(await echo({ "accept-encoding": "gzip, deflate, br, zstd" })).toBe("gzip, deflate");
    expect(await echo({ "accept-encoding": "br" })).toBe("identity");
    expect(await echo({})).toBeUndefined();
  });
});

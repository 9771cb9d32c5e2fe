/**
 * Content codings the gateway cannot decode (here `br` on the socket path) must reach the client as the
 * upstream sent them: no second encoding by the runtime, no decoding. Checked on the wire with a raw
 * `node:http` client that does not decode anything.
 */
import { request } from "node:http";
import { describe, expect, inject, it } from "vitest";

const origin = inject("gatewayOrigin");

function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("content coding pass-through", () => {
  it("relays a br-labelled body byte for byte on the socket path", async () => {
    const res = await rawGet(`${origin}/echo/coded?mock_header=content-encoding:br`, {
      "accept-encoding": "br",
    });
    expect(res.headers["content-encoding"]).toBe("br");
    expect(res.headers["x-proxy-transport"]).toBe("socket");
    // The echo mock's body is its JSON report; labelled br but sent as is, it must arrive untouched.
    const report = JSON.parse(res.body.toString("utf8")) as { url: string };
    expect(report.url).toBe("/coded?mock_header=content-encoding:br");
  });
});

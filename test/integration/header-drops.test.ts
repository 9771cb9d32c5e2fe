/**
 * `DROP_REQUEST_HEADERS` (issue 11.6): headers an operator adds to the privacy policy never reach the
 * upstream, on plain HTTP (with a body) and on a WebSocket relay, and a bad list is a clear error.
 */
import { describe, expect, it } from "vitest";
import { echoEndpoint, echoReport, gateway, headerNames } from "./gateway";
import { RelayClient, wsMockLog, wsMockPort } from "./ws-client";

const vars = {
  ENDPOINTS: JSON.stringify({
    ...JSON.parse(echoEndpoint("echoed")),
    wsmock: { targets: `http://127.0.0.1:${wsMockPort()}` },
  }),
  DROP_REQUEST_HEADERS: "x-acme-user, X-Tenant-*",
};
const operatorHeaders = {
  "x-acme-user": "alice@example.com",
  "x-tenant-id": "t-42",
  "X-Tenant-Region": "eu",
  "x-kept": "yes",
};

describe("DROP_REQUEST_HEADERS", () => {
  it("removes the listed names and prefixes from a proxied request, body intact", async () => {
    const response = await gateway(
      "/echoed/v1/x",
      { method: "POST", headers: { ...operatorHeaders, "content-type": "text/plain" }, body: "payload" },
      vars,
    );
    const report = await echoReport(response);
    const names = headerNames(report);
    expect(names).not.toContain("x-acme-user");
    expect(names).not.toContain("x-tenant-id");
    expect(names).not.toContain("x-tenant-region");
    expect(names).toContain("x-kept");
    expect(report.body).toBe("payload");
  });

  it("forwards those headers when the variable is unset (the built-in policy does not know them)", async () => {
    const response = await gateway(
      "/echoed/v1/x",
      { headers: operatorHeaders },
      { ...vars, DROP_REQUEST_HEADERS: "" },
    );
    expect(headerNames(await echoReport(response))).toContain("x-acme-user");
  });

  it("removes them from a WebSocket handshake too", async () => {
    const response = await gateway(
      "/wsmock/echo?id=operator-drops",
      { headers: { upgrade: "websocket", "sec-websocket-version": "13", ...operatorHeaders } },
      vars,
    );
    expect(response.status).toBe(101);
    const client = new RelayClient(response);
    client.ws.send("hi");
    expect(await client.next()).toBe("hi");
    client.ws.close(1000);
    await client.closed;
    const log = await wsMockLog<{ headers: [string, string][] }>("log", "operator-drops", true);
    const names = log.headers.map(([name]) => name.toLowerCase());
    expect(names).not.toContain("x-acme-user");
    expect(names).not.toContain("x-tenant-id");
    expect(names).toContain("x-kept");
  });

  it("answers a bad list with a configuration error naming the variable", async () => {
    const response = await gateway(
      "/echoed/v1/x",
      {},
      { ...vars, DROP_REQUEST_HEADERS: "x-ok, bad header:" },
    );
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("DROP_REQUEST_HEADERS");
    expect(body.error.message).toContain("header:");
  });
});

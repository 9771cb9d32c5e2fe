/**
 * `REQUEST_LOG` decides which requests get their JSON line: `all` (default), `errors` (what did not go cleanly,
 * including a failure that failover hid from the client) or `off`. Lines are read from the global console, where
 * the Worker writes them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { callGateway, echoEndpoint } from "./gateway";
import { scenarioId, script, targetUrl } from "./health-harness";

let lines: { status: number; path: string; attempts?: number }[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    const entry = JSON.parse(String(line)) as {
      request_id?: string;
      status: number;
      path: string;
      attempts?: number;
    };
    if (entry.request_id !== undefined) lines.push(entry);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function send(path: string, vars: Record<string, string>): Promise<number> {
  const { response, settled } = await callGateway(path, {}, vars);
  await response.arrayBuffer();
  await settled;
  return response.status;
}

/** One mock target behind two base URLs: its first answer is a 503, so the request fails over once. */
async function failingOverEndpoint(): Promise<string> {
  const name = scenarioId("reqlog");
  await script(name, "t1", { queue: [{ status: 503 }] });
  const base = targetUrl("t1", name);
  return JSON.stringify({ [name]: { targets: [base, `${base}/again`], transport: "fetch" } });
}

describe("REQUEST_LOG", () => {
  it("all (the default) writes a line for every request", async () => {
    expect(await send("/echoed/v1/models", { ENDPOINTS: echoEndpoint("echoed") })).toBe(200);
    expect(await send("/no-such-endpoint/v1/x", { ENDPOINTS: echoEndpoint("echoed") })).toBe(404);
    expect(lines.map((l) => [l.path, l.status])).toEqual([
      ["/echoed/v1/models", 200],
      ["/no-such-endpoint/v1/x", 404],
    ]);
  });

  it("errors skips clean answers and keeps errors and requests that needed a second attempt", async () => {
    const ENDPOINTS = await failingOverEndpoint();
    const name = Object.keys(JSON.parse(ENDPOINTS) as object)[0];
    const quiet = { ENDPOINTS: echoEndpoint("echoed"), REQUEST_LOG: "errors" };
    expect(await send("/echoed/v1/models", quiet)).toBe(200);
    expect(lines).toEqual([]);
    expect(await send("/no-such-endpoint/v1/x", quiet)).toBe(404);
    expect(await send(`/${name}/v1/x`, { ENDPOINTS, REQUEST_LOG: "errors" })).toBe(200);
    // The target's queue is empty now: the same request goes cleanly and is not logged.
    expect(await send(`/${name}/v1/x`, { ENDPOINTS, REQUEST_LOG: "errors" })).toBe(200);
    expect(lines.map((l) => [l.path, l.status, l.attempts])).toEqual([
      ["/no-such-endpoint/v1/x", 404, undefined],
      [`/${name}/v1/x`, 200, 2],
    ]);
  });

  it("off writes no request line, not even for a failure", async () => {
    const vars = {
      ENDPOINTS: JSON.stringify({ dead: { targets: ["http://127.0.0.1:1"], transport: "socket" } }),
      REQUEST_LOG: "off",
    };
    expect(await send("/dead/v1/x", vars)).toBe(502);
    expect(lines).toEqual([]);
  });

  it("an unknown value is a configuration error that names the variable, and is logged", async () => {
    const { response } = await callGateway(
      "/echoed/v1/models",
      {},
      { ENDPOINTS: echoEndpoint("echoed"), REQUEST_LOG: "quiet" },
    );
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("REQUEST_LOG");
    expect(lines.map((l) => l.status)).toEqual([500]);
  });
});

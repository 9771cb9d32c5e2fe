/**
 * A token written percent-encoded in the path (issue 11.2): base64-style tokens hold `/`, `+` and `=`,
 * which a client must or may encode. Every spelling that authenticates a proxy route authenticates
 * `/{token}/health` too, and none of them reaches a log line.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { callGateway, echoEndpoint, echoReport } from "./gateway";

const TOKEN = "Zm9v/YmFy+YmF6=q/x==";
const ENCODED = encodeURIComponent(TOKEN); // Zm9v%2FYmFy%2BYmF6%3Dq%2Fx%3D%3D
// Lower-case hex and an encoded letter: other spellings of the same token.
const ODD = ENCODED.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()).replace("Zm9v", "%5am9v");
const vars = { AUTH_TOKEN: TOKEN, ENDPOINTS: echoEndpoint("echoed"), PRESET_AUTH_ENABLED: "true" };

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

function expectNoTokenInLogs(): void {
  expect(lines.length).toBeGreaterThan(0);
  const all = lines.join("\n");
  for (const spelling of [TOKEN, ENCODED, ODD, TOKEN.replaceAll("/", "%2F")]) {
    expect(all).not.toContain(spelling);
  }
  // No fragment long enough to identify the token either.
  expect(all).not.toContain("YmFy");
}

describe.each([
  ["upper-case encoding", ENCODED],
  ["an unusual encoding", ODD],
])("a token sent with %s", (_label, spelling) => {
  it("authenticates a preset route and is not logged", async () => {
    const { response, settled } = await callGateway(`/${spelling}/echoed/v1/models?x=1`, {}, vars);
    expect(response.status).toBe(200);
    expect((await echoReport(response)).url).toBe("/v1/models?x=1");
    await settled;
    expect(lines.some((line) => line.includes('"path":"/[redacted]/echoed/v1/models?x=1"'))).toBe(true);
    expectNoTokenInLogs();
  });

  it("authenticates /{token}/health and is not logged", async () => {
    const { response, settled } = await callGateway(`/${spelling}/health?endpoint=echoed`, {}, vars);
    expect(response.status).toBe(200);
    expect(await response.json()).toHaveProperty("endpoints.echoed");
    await settled;
    expectNoTokenInLogs();
  });
});

describe("the token as written", () => {
  it("still authenticates both routes with the literal `+` and `=` and an encoded `/`", async () => {
    const literalish = TOKEN.replaceAll("/", "%2F");
    expect((await callGateway(`/${literalish}/echoed/v1/x`, {}, vars)).response.status).toBe(200);
    expect((await callGateway(`/${literalish}/health?endpoint=echoed`, {}, vars)).response.status).toBe(200);
    expectNoTokenInLogs();
  });

  it("refuses a wrong encoded token on both routes", async () => {
    const wrong = encodeURIComponent(`${TOKEN}x`);
    expect((await callGateway(`/${wrong}/echoed/v1/x`, {}, vars)).response.status).toBe(401);
    expect((await callGateway(`/${wrong}/health`, {}, vars)).response.status).toBe(401);
  });
});

/**
 * An empty query string is part of the request target (issue 11.12): `/path?` reaches the upstream
 * with its `?`, byte-exact, on both transports and through the generic proxy.
 */
import { describe, expect, it } from "vitest";
import { echoReport, gateway, mockOrigin, mockPort } from "./gateway";

const TOKEN = "empty-query-token-0123";
const vars = {
  AUTH_TOKEN: TOKEN,
  ENDPOINTS: JSON.stringify({
    viasocket: { targets: mockOrigin("echo"), transport: "socket" },
    viafetch: { targets: `${mockOrigin("echo")}/base`, transport: "fetch" },
  }),
};

describe("an empty query string", () => {
  it.each([
    ["a socket-transport preset", "/viasocket/v1/models?", "/v1/models?"],
    ["a fetch-transport preset with a base path", "/viafetch/v1/models?", "/base/v1/models?"],
    ["the generic proxy", `/${TOKEN}/http/127.0.0.1:${mockPort("echo")}/v1/models?`, "/v1/models?"],
    ["a trailing slash before it", "/viasocket/v1/?", "/v1/?"],
    ["a fragment after it (never sent)", "/viasocket/v1/models?#frag", "/v1/models?"],
  ])("keeps its ? through %s", async (_label, path, expected) => {
    const response = await gateway(path, {}, vars);
    expect(response.status).toBe(200);
    expect((await echoReport(response)).url).toBe(expected);
  });

  it("is not invented where the client sent none", async () => {
    const response = await gateway("/viasocket/v1/models", {}, vars);
    expect((await echoReport(response)).url).toBe("/v1/models");
  });
});

/**
 * `/health` and `/metrics` show a target as the dashboard does (issue 11.6): its origin, never the
 * base path an operator configured (it may hold an account id or a key-like segment).
 */
import { describe, expect, it } from "vitest";
import { gateway, mockOrigin } from "./gateway";

const origin = mockOrigin("echo");
const vars = {
  ENDPOINTS: JSON.stringify({
    hidden: { targets: [`${origin}/acct-1234567/v1`, { url: `${origin}/acct-7654321`, weight: 2 }] },
    plain: { targets: `${origin}/` },
  }),
};

describe("targets in /health and /metrics", () => {
  it("hide the base path and stay distinct", async () => {
    const response = await gateway("/health?endpoint=hidden,plain", {}, vars);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain("acct-");
    const report = JSON.parse(text) as {
      endpoints: Record<string, { targets: { url: string; weight: number }[] }>;
    };
    expect(report.endpoints.hidden?.targets.map((t) => [t.url, t.weight])).toEqual([
      [`${origin}/…#1`, 1],
      [`${origin}/…#2`, 2],
    ]);
    expect(report.endpoints.plain?.targets.map((t) => t.url)).toEqual([origin]);
  });

  it("hide it from /metrics labels too", async () => {
    const response = await gateway("/metrics?endpoint=hidden", {}, vars);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain(`target="${origin}/…#1"`);
    expect(text).not.toContain("acct-");
  });
});

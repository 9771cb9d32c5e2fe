import { describe, expect, it } from "vitest";
import { type GatewayVars, loadConfig } from "./config";

/** Variables whose every read is counted (the runtime's `env` is one object per isolate). */
function countingVars(values: GatewayVars): { vars: GatewayVars; reads: () => number } {
  let reads = 0;
  const vars = new Proxy(values, {
    get(target, name) {
      reads += 1;
      return target[name as keyof GatewayVars];
    },
  });
  return { vars, reads: () => reads };
}

describe("loadConfig caching", () => {
  it("reads no variable again for the same env object", () => {
    const { vars, reads } = countingVars({
      AUTH_TOKEN: "cache-token-1",
      ENDPOINTS: '{"a":{"targets":"http://a.test"}}',
    });
    const first = loadConfig(vars);
    const after = reads();
    expect(loadConfig(vars)).toBe(first);
    expect(loadConfig(vars)).toBe(first);
    expect(reads()).toBe(after);
  });

  it("an equal but different env object gets the same parsed config; a changed one a new config", () => {
    const a = loadConfig({ AUTH_TOKEN: "cache-token-2" });
    expect(loadConfig({ AUTH_TOKEN: "cache-token-2" })).toBe(a);
    const b = loadConfig({ AUTH_TOKEN: "cache-token-3" });
    expect(b).not.toBe(a);
    expect(b.authToken).toBe("cache-token-3");
  });
});

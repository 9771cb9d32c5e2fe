import { describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { parseConfig } from "./config";
import type { GatewayContext } from "./context";
import { requestRegion } from "./health-region";

function contextOf(cf: unknown, sharding?: string): GatewayContext {
  const raw = new Request("http://gateway.test/x");
  if (cf !== undefined) Object.defineProperty(raw, "cf", { value: cf });
  const config = parseConfig(sharding === undefined ? {} : { HEALTH_SHARDING: sharding });
  return { raw, config } as unknown as GatewayContext;
}

describe("HEALTH_SHARDING and the request's region", () => {
  it("defaults to region; accepts region and off in any case; refuses anything else naming the variable", () => {
    expect(parseConfig({}).healthSharding).toBe("region");
    expect(parseConfig({ HEALTH_SHARDING: " OFF " }).healthSharding).toBe("off");
    expect(parseConfig({ HEALTH_SHARDING: "Region" }).healthSharding).toBe("region");
    expect(() => parseConfig({ HEALTH_SHARDING: "colo" })).toThrow(ConfigError);
    expect(() => parseConfig({ HEALTH_SHARDING: "colo" })).toThrow(/HEALTH_SHARDING.*region or off/s);
  });

  it("is the continent of request.cf, or null when sharding is off or there is no cf", () => {
    expect(requestRegion(contextOf({ continent: "EU", colo: "AMS" }))).toBe("EU");
    expect(requestRegion(contextOf({ continent: "EU" }, "off"))).toBeNull();
    expect(requestRegion(contextOf(undefined))).toBeNull();
  });
});

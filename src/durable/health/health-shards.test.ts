import { describe, expect, it } from "vitest";
import {
  isRegion,
  parseShardName,
  regionOf,
  registeredEndpointNames,
  shardName,
  shardRegions,
} from "./health-shards";

describe("health shards", () => {
  it("names a shard <endpoint>#<region>, and the unsharded object by the endpoint alone", () => {
    expect(shardName("gemini", "EU")).toBe("gemini#EU");
    expect(shardName("gemini", null)).toBe("gemini");
    expect(parseShardName("gemini#EU")).toEqual({ endpoint: "gemini", region: "EU" });
    expect(parseShardName("gemini")).toEqual({ endpoint: "gemini", region: null });
  });

  it("takes the region from cf.continent unless sharding is off or the value is not a region", () => {
    expect(regionOf({ continent: "EU", colo: "FRA" }, "region")).toBe("EU");
    expect(regionOf({ continent: "EU" }, "off")).toBeNull();
    expect(regionOf(undefined, "region")).toBeNull();
    expect(regionOf({}, "region")).toBeNull();
    expect(regionOf({ continent: "E#U" }, "region")).toBeNull();
    expect(regionOf({ continent: 5 }, "region")).toBeNull();
    expect(isRegion("NA")).toBe(true);
    expect(isRegion("")).toBe(false);
  });

  it("reads the unsharded object, every registered shard of the endpoint, and the caller's own region", () => {
    const registered = ["gemini", "gemini#NA", "gemini#EU", "groq#AS", "geminix#OC"];
    expect(shardRegions(registered, "gemini")).toEqual([null, "EU", "NA"]);
    expect(shardRegions(registered, "gemini", "AS")).toEqual([null, "AS", "EU", "NA"]);
    expect(shardRegions(registered, "gemini", "EU")).toEqual([null, "EU", "NA"]);
    expect(shardRegions(null, "gemini")).toEqual([null]);
    expect([...registeredEndpointNames(registered)].sort()).toEqual(["gemini", "geminix", "groq"]);
  });
});

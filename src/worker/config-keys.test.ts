import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";

const endpoints = (value: unknown) => parseConfig({ ENDPOINTS: JSON.stringify(value) }).endpoints;

describe("ENDPOINTS keys (issue 14)", () => {
  it("a preset keeps its own key placement; a custom endpoint defaults to Bearer", () => {
    const map = endpoints({
      gemini: { targets: "https://g.example", keys: { secret: "GEMINI_KEYS" } },
      claude: { targets: "https://a.example", keys: { secret: "ANTHROPIC_KEYS" } },
      mine: { targets: "https://m.example", keys: { secret: "MINE" } },
    });
    expect(map.get("gemini")!.keys).toEqual({
      secret: "GEMINI_KEYS",
      placement: { kind: "header", name: "x-goog-api-key" },
    });
    expect(map.get("claude")!.keys!.placement).toEqual({ kind: "header", name: "x-api-key" });
    expect(map.get("mine")!.keys!.placement).toEqual({ kind: "bearer" });
    expect(map.get("openai")!.keys).toBeUndefined();
    expect(map.get("anthropic")!.keyPlacement).toEqual({ kind: "header", name: "x-api-key" });
  });

  it("header and query placements", () => {
    const map = endpoints({
      h: { targets: "https://h.example", keys: { secret: "H", header: "X-Api-Key" } },
      b: { targets: "https://b.example", keys: { secret: "B", header: "Authorization" } },
      q: { targets: "https://q.example", keys: { secret: "Q", query: "key" } },
    });
    expect(map.get("h")!.keys!.placement).toEqual({ kind: "header", name: "x-api-key" });
    expect(map.get("b")!.keys!.placement).toEqual({ kind: "bearer" });
    expect(map.get("q")!.keys!.placement).toEqual({ kind: "query", name: "key" });
  });

  it("bad specs are errors naming the path", () => {
    const bad = (keys: unknown) => () => endpoints({ x: { targets: "https://x.example", keys } });
    expect(bad("GEMINI_KEYS")).toThrow(/ENDPOINTS\.x\.keys: must be an object/);
    expect(bad({})).toThrow(/ENDPOINTS\.x\.keys\.secret: must name the secret/);
    expect(bad({ secret: "has space" })).toThrow(/ENDPOINTS\.x\.keys\.secret/);
    expect(bad({ secret: "S", header: "x", query: "k" })).toThrow(/either `header` or `query`/);
    expect(bad({ secret: "S", header: "bad header" })).toThrow(/ENDPOINTS\.x\.keys\.header/);
    expect(bad({ secret: "S", weight: 2 })).toThrow(/unknown field "weight"/);
  });
});

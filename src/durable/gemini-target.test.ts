import { describe, expect, it } from "vitest";
import { pickTarget } from "./gemini-target";

const targets = [
  { url: "http://a", weight: 1 },
  { url: "http://b", weight: 3 },
];

describe("pickTarget", () => {
  it("picks by weight", () => {
    expect(pickTarget(targets, null, () => 0.1).url).toBe("http://a");
    expect(pickTarget(targets, null, () => 0.5).url).toBe("http://b");
  });

  it("avoids the target that just failed when there is another", () => {
    expect(pickTarget(targets, "http://b", () => 0.99).url).toBe("http://a");
    expect(pickTarget([{ url: "http://a", weight: 1 }], "http://a", () => 0).url).toBe("http://a");
  });
});

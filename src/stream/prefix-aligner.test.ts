import { describe, expect, it } from "vitest";
import { PrefixAligner } from "./prefix-aligner";
import { sumUsageReports } from "./usage-sum";

describe("PrefixAligner", () => {
  it("drops as much leading whitespace as the trimmed prefix lost, across chunks", () => {
    const a = new PrefixAligner("Hello  ", true);
    expect(a.push(" ")).toEqual({ kind: "emit", text: "" });
    expect(a.push(" world  ")).toEqual({ kind: "emit", text: "world  " });
    expect(a.removedChars).toBe(2);
  });

  it("keeps the continuation's own whitespace once text started, and everything when nothing was trimmed", () => {
    const a = new PrefixAligner("Hello ", true);
    expect(a.push("x")).toEqual({ kind: "emit", text: "x" });
    expect(a.push(" y")).toEqual({ kind: "emit", text: " y" });
    expect(new PrefixAligner("Hello ", false).push(" world")).toEqual({ kind: "emit", text: " world" });
  });
});

describe("sumUsageReports", () => {
  it("adds numbers, nested details field by field, and keeps other values from the first report", () => {
    const sum = sumUsageReports([
      {
        prompt_tokens: 10,
        completion_tokens: 2,
        completion_tokens_details: { reasoning_tokens: 1 },
        tier: "a",
      },
      {
        prompt_tokens: 12,
        completion_tokens: 5,
        completion_tokens_details: { reasoning_tokens: 3 },
        tier: "b",
      },
    ]);
    expect(sum).toEqual({
      prompt_tokens: 22,
      completion_tokens: 7,
      completion_tokens_details: { reasoning_tokens: 4 },
      tier: "a",
    });
    expect(sumUsageReports([])).toBeNull();
  });
});

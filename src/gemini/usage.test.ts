import { describe, expect, it } from "vitest";
import { sumUsage } from "./usage";

describe("sumUsage", () => {
  it("returns undefined without reports", () => {
    expect(sumUsage([])).toBeUndefined();
  });

  it("sums every numeric field and per-modality details", () => {
    expect(
      sumUsage([
        {
          promptTokenCount: 10,
          candidatesTokenCount: 5,
          totalTokenCount: 15,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: 10 }],
        },
        {
          promptTokenCount: 20,
          candidatesTokenCount: 7,
          thoughtsTokenCount: 3,
          totalTokenCount: 30,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: 20 }],
        },
      ]),
    ).toEqual({
      promptTokenCount: 30,
      candidatesTokenCount: 12,
      thoughtsTokenCount: 3,
      totalTokenCount: 45,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 30 }],
    });
  });
});

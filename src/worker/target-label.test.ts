import { describe, expect, it } from "vitest";
import { publicTargetLabels } from "./target-label";

describe("publicTargetLabels", () => {
  it("names a target by its origin and hides a base path", () => {
    expect(
      publicTargetLabels([
        "https://generativelanguage.googleapis.com",
        "https://api.example.com/acct-123/v1",
        "http://127.0.0.1:8080",
      ]),
    ).toEqual([
      "https://generativelanguage.googleapis.com",
      "https://api.example.com/…",
      "http://127.0.0.1:8080",
    ]);
  });

  it("keeps targets distinct when only their base paths differ", () => {
    expect(publicTargetLabels(["https://h/a", "https://h/b", "https://h", "https://other/x"])).toEqual([
      "https://h/…#1",
      "https://h/…#2",
      "https://h",
      "https://other/…",
    ]);
  });

  it("never echoes something that is not a URL", () => {
    expect(publicTargetLabels(["not a url/secret"])).toEqual(["[invalid target URL]"]);
  });
});

import { describe, expect, it } from "vitest";
import { applyKey, withoutParams } from "./placement";

const client = () =>
  new Headers({
    authorization: "Bearer client-own",
    "x-goog-api-key": "client-g",
    "x-api-key": "client-a",
    accept: "*/*",
  });

describe("applyKey", () => {
  it("bearer: replaces every client credential with Authorization: Bearer", () => {
    const { headers, search } = applyKey(client(), "?alt=sse&key=client-q", { kind: "bearer" }, "POOLKEY");
    expect([...headers]).toEqual([
      ["accept", "*/*"],
      ["authorization", "Bearer POOLKEY"],
    ]);
    expect(search).toBe("?alt=sse");
  });

  it("header: the bare key in the named header", () => {
    const { headers } = applyKey(client(), "", { kind: "header", name: "x-goog-api-key" }, "POOLKEY");
    expect(headers.get("x-goog-api-key")).toBe("POOLKEY");
    expect(headers.get("authorization")).toBeNull();
    expect(headers.get("x-api-key")).toBeNull();
  });

  it("query: removes the client's value and appends the pool's, other parameters untouched", () => {
    const { headers, search } = applyKey(
      client(),
      "?a=%2F&key=client-q&b",
      { kind: "query", name: "key" },
      "k/+",
    );
    expect(search).toBe("?a=%2F&b&key=k%2F%2B");
    expect(headers.get("x-goog-api-key")).toBeNull();
    expect(applyKey(new Headers(), "", { kind: "query", name: "key" }, "K").search).toBe("?key=K");
  });

  it("withoutParams matches names case-insensitively and decoded", () => {
    expect(withoutParams("?KEY=1&%6Bey=2&x=3", new Set(["key"]))).toBe("?x=3");
    expect(withoutParams("?key=1", new Set(["key"]))).toBe("");
    expect(withoutParams("", new Set(["key"]))).toBe("");
  });
});

import { describe, expect, it } from "vitest";
import { parseConfig } from "./config";
import { loggedPath, redact, wantsLogLine } from "./log";

describe("redact", () => {
  it("removes configured secrets, ?key= values and key shapes", () => {
    const text = "GET /tok123/https/h/x?alt=sse&key=AIzaSyA-very-secret-value_123 Bearer sk-abcdefghijkl";
    const out = redact(text, ["tok123"]);
    expect(out).not.toContain("tok123");
    expect(out).not.toContain("AIzaSyA");
    expect(out).not.toContain("sk-abcdefghijkl");
    expect(out).toContain("alt=sse");
    expect(out).toContain("key=[redacted]");
  });
});

describe("loggedPath", () => {
  const token = "ab/cd+ef==";
  const path = (p: string) => loggedPath(new URL(`http://gw${p}`), token, [token]);

  it.each([
    ["/ab%2Fcd%2Bef%3D%3D/openai/v1?x=1", "/[redacted]/openai/v1?x=1"],
    ["/ab%2fcd+ef==/openai/v1", "/[redacted]/openai/v1"],
    ["/%61b%2Fcd%2Bef%3D%3D/health", "/[redacted]/health"],
    ["/ab%2Fcd%2Bef%3D%3D", "/[redacted]"],
  ])("replaces an authenticating first segment %s whole", (input, expected) => {
    expect(path(input)).toBe(expected);
  });

  it("leaves a first segment that does not authenticate", () => {
    expect(path("/openai/v1/models")).toBe("/openai/v1/models");
    expect(path("/ab%2Fcd/openai")).toBe("/ab%2Fcd/openai");
    expect(loggedPath(new URL("http://gw/x%2F/y"), null)).toBe("/x%2F/y");
  });

  it("hides session ids", () => {
    expect(path("/sessions/0123abcd?from=3")).toBe("/sessions/[id]?from=3");
  });
});

describe("redact: credential query names", () => {
  it.each([
    "api-key",
    "API-Key",
    "client_secret",
    "sig",
    "X-Amz-Signature",
    "x-amz-signature",
    "password",
    "code",
    "refresh_token",
    "key",
    "access_token",
  ])("redacts the value of %s, first or later in the query", (name) => {
    const out = redact(`/p?${name}=s3cr3t-value&keep=1&other=2&${name}=again-secret`);
    expect(out).not.toContain("s3cr3t-value");
    expect(out).not.toContain("again-secret");
    expect(out).toContain(`?${name}=[redacted]`);
    expect(out).toContain("keep=1");
  });

  it("keeps names that only resemble a credential name", () => {
    expect(redact("/p?signal=on&codec=opus&keyword=x")).toBe("/p?signal=on&codec=opus&keyword=x");
  });
});

describe("REQUEST_LOG and the request line", () => {
  it("all and off write every line or none", () => {
    expect(wantsLogLine("all", 200, {})).toBe(true);
    expect(wantsLogLine("off", 502, { error: "upstream_connect_failed" })).toBe(false);
  });

  it("errors keeps what did not go cleanly, even when the client got a 2xx", () => {
    expect(wantsLogLine("errors", 200, { attempts: 1, fallback: null })).toBe(false);
    expect(wantsLogLine("errors", 101, {})).toBe(false);
    expect(wantsLogLine("errors", 304, {})).toBe(false);
    expect(wantsLogLine("errors", 401, {})).toBe(true);
    expect(wantsLogLine("errors", 502, {})).toBe(true);
    expect(wantsLogLine("errors", 200, { error: "stream_cut" })).toBe(true);
    expect(wantsLogLine("errors", 200, { fallback: "upstream_connect_failed" })).toBe(true);
    expect(wantsLogLine("errors", 200, { attempts: 2 })).toBe(true);
  });

  it("is parsed in any case, unset is all, anything else a configuration error naming the variable", () => {
    expect(parseConfig({}).requestLog).toBe("all");
    expect(parseConfig({ REQUEST_LOG: " Errors " }).requestLog).toBe("errors");
    expect(parseConfig({ REQUEST_LOG: "OFF" }).requestLog).toBe("off");
    expect(() => parseConfig({ REQUEST_LOG: "warn" })).toThrow(
      /REQUEST_LOG: expected all or errors or off, got "warn"/,
    );
  });
});

import { describe, expect, it } from "vitest";
import { hostHeaderFor, sanitizeRequestHeaders, sanitizeResponseHeaders } from "./header-policy";

describe("sanitizeRequestHeaders", () => {
  const forged = new Headers({
    "cf-connecting-ip": "203.0.113.7",
    "cf-ipcountry": "NL",
    "cdn-loop": "cloudflare",
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-proto": "https",
    forwarded: "for=203.0.113.7",
    "x-real-ip": "203.0.113.7",
    "true-client-ip": "203.0.113.7",
    "x-client-ip": "203.0.113.7",
    "x-originating-ip": "203.0.113.7",
    "x-forwarded": "for=203.0.113.7",
    "x-remote-ip": "203.0.113.7",
    "x-remote-addr": "203.0.113.7",
    "x-envoy-external-address": "203.0.113.7",
    "fastly-client-ip": "203.0.113.7",
    "x-original-forwarded-for": "203.0.113.7",
    "x-proxyuser-ip": "203.0.113.7",
    "sec-gpc": "1",
    via: "1.1 someproxy",
    cookie: "session=secret",
    referer: "https://private.example/page",
    origin: "https://private.example",
    "x-proxy-token": "gateway-token",
    "proxy-authorization": "Basic abc",
    "sec-ch-ua": '"Chromium";v="150"',
    "sec-fetch-site": "cross-site",
    connection: "keep-alive, x-secret-hop",
    "x-secret-hop": "1",
    "keep-alive": "timeout=5",
    te: "trailers",
    "transfer-encoding": "chunked",
    host: "gateway.example",
    authorization: "Bearer sk-user",
    "x-api-key": "key-user",
    "content-type": "application/json",
    "x-custom": "kept",
    "user-agent": "OpenAI/JS 6.0",
  });

  it("drops every identifying, credential-bearing, gateway and hop-by-hop header", () => {
    const out = sanitizeRequestHeaders(forged);
    expect([...out.keys()].sort()).toEqual(
      ["authorization", "content-type", "user-agent", "x-api-key", "x-custom"].sort(),
    );
  });

  it("keeps what the upstream needs byte for byte", () => {
    const out = sanitizeRequestHeaders(forged);
    expect(out.get("authorization")).toBe("Bearer sk-user");
    expect(out.get("x-api-key")).toBe("key-user");
    expect(out.get("x-custom")).toBe("kept");
  });

  it("sets Host for the target when asked, with a non-default port only", () => {
    expect(sanitizeRequestHeaders(forged, new URL("https://api.example.com/v1")).get("host")).toBe(
      "api.example.com",
    );
    expect(sanitizeRequestHeaders(forged, new URL("http://127.0.0.1:8080/x")).get("host")).toBe(
      "127.0.0.1:8080",
    );
  });
});

describe("hostHeaderFor", () => {
  it("omits default ports and keeps others", () => {
    expect(hostHeaderFor(new URL("https://a.example:443/"))).toBe("a.example");
    expect(hostHeaderFor(new URL("http://a.example:80/"))).toBe("a.example");
    expect(hostHeaderFor(new URL("https://a.example:8443/"))).toBe("a.example:8443");
    expect(hostHeaderFor(new URL("wss://a.example/"))).toBe("a.example");
  });
});

describe("sanitizeResponseHeaders", () => {
  it("removes hop-by-hop fields and those the Connection header names", () => {
    const out = sanitizeResponseHeaders(
      new Headers({
        connection: "close, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "content-type": "text/event-stream",
        "x-request-id": "abc",
      }),
    );
    expect([...out.keys()].sort()).toEqual(["content-type", "x-request-id"]);
  });

  it("removes every x-proxy-* header, whatever its case, so an upstream cannot forge the gateway's", () => {
    const out = sanitizeResponseHeaders(
      new Headers({
        "X-Proxy-Error": "forged",
        "x-proxy-session-id": "forged",
        "x-proxy-fallback": "forged",
        "x-proxy-whatever": "forged",
        "x-proxyish": "kept",
        "content-type": "application/json",
      }),
    );
    expect([...out.keys()].sort()).toEqual(["content-type", "x-proxyish"]);
  });
});

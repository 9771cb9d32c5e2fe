import { describe, expect, it } from "vitest";
import { BadRequestError, ForbiddenError } from "../transport/errors";
import { checkGenericTarget, classifyHost, parseIpv6 } from "./address-guard";

function refusal(scheme: string, hostPort: string): ForbiddenError {
  try {
    checkGenericTarget(scheme, hostPort, false);
  } catch (error) {
    if (error instanceof ForbiddenError) return error;
    throw error;
  }
  throw new Error(`${scheme}://${hostPort} was not refused`);
}

function badRequest(scheme: string, hostPort: string): BadRequestError {
  try {
    checkGenericTarget(scheme, hostPort, true);
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error(`${scheme}://${hostPort} was accepted`);
}

describe("checkGenericTarget: public targets", () => {
  it.each([
    ["https", "api.example.com", "https://api.example.com/"],
    ["http", "example.com:8080", "http://example.com:8080/"],
    ["ws", "echo.example.org", "ws://echo.example.org/"],
    ["wss", "generativelanguage.googleapis.com", "wss://generativelanguage.googleapis.com/"],
    ["HTTPS", "API.Example.COM", "https://api.example.com/"],
    ["https", "8.8.8.8", "https://8.8.8.8/"],
    ["https", "1.1.1.1:443", "https://1.1.1.1/"],
    ["https", "[2606:4700:4700::1111]", "https://[2606:4700:4700::1111]/"],
    ["https", "[2606:4700:4700::1111]:8443", "https://[2606:4700:4700::1111]:8443/"],
    ["https", "[::ffff:8.8.8.8]", "https://[::ffff:808:808]/"],
    ["https", "[64:ff9b::8.8.8.8]", "https://[64:ff9b::808:808]/"],
    ["https", "b%C3%BCcher.de", "https://xn--bcher-kva.de/"],
    ["https", "172.32.0.1", "https://172.32.0.1/"],
    ["https", "100.128.0.1", "https://100.128.0.1/"],
    ["https", "192.169.0.1", "https://192.169.0.1/"],
    ["https", "localhost.example.com", "https://localhost.example.com/"],
    ["https", "mylocalhost", "https://mylocalhost/"],
    ["https", "metadata.example.com", "https://metadata.example.com/"],
    ["https", "[2001:4860:4860::8888]", "https://[2001:4860:4860::8888]/"],
    ["https", "[2001:200::1]", "https://[2001:200::1]/"],
  ])("%s://%s is allowed", (scheme, hostPort, href) => {
    expect(checkGenericTarget(scheme, hostPort, false).url.href).toBe(href);
  });
});

describe("checkGenericTarget: schemes", () => {
  it.each(["ftp", "file", "gopher", "javascript", "data", "chrome-extension"])("refuses %s", (scheme) => {
    const error = refusal(scheme, "example.com");
    expect(error.status).toBe(403);
    expect(error.reason).toBe("private_target");
    expect(error.message).toContain(`"${scheme}"`);
    expect(error.message).toContain("http, https, ws and wss");
  });

  it("refuses other schemes even with allowPrivate", () => {
    expect(() => checkGenericTarget("file", "localhost", true)).toThrow(ForbiddenError);
  });

  it.each(["", "1http", "ht tp", "http:", "https/"])("rejects malformed scheme %j as 400", (scheme) => {
    const error = badRequest(scheme, "example.com");
    expect(error.status).toBe(400);
  });
});

describe("checkGenericTarget: malformed hosts and ports are 400", () => {
  it.each([
    ["empty", ""],
    ["userinfo", "user:sk-secret@example.com"],
    ["bare at", "@example.com"],
    ["path", "example.com/evil"],
    ["backslash", "example.com\\evil"],
    ["query", "example.com?x=1"],
    ["fragment", "example.com#x"],
    ["space", "exa mple.com"],
    ["nul", "example.com\u0000"],
    ["crlf", "example.com\r\nHost: x"],
    ["port zero", "example.com:0"],
    ["port too large", "example.com:65536"],
    ["port too long", "example.com:000080000"],
    ["empty port", "example.com:"],
    ["non-numeric port", "example.com:http"],
    ["negative port", "example.com:-1"],
    ["unbracketed ipv6", "::1"],
    ["ipv6 zone id", "[fe80::1%25eth0]"],
    ["broken ipv6", "[1::2::3]"],
    ["five-part ipv4", "1.2.3.4.5"],
    ["ipv4 octet overflow", "256.0.0.1"],
    ["forbidden code point", "exa%2Fmple.com"],
    ["only dots", "."],
    ["many dots", "..."],
  ])("%s", (_label, hostPort) => {
    const error = badRequest("https", hostPort);
    expect(error.status).toBe(400);
    expect(error.message).not.toContain("sk-secret");
  });

  it("does not echo credentials from a malformed host", () => {
    const error = badRequest("https", "alice:sk-secret@127.0.0.1");
    expect(error.message).not.toContain("sk-secret");
    expect(error.message).not.toContain("alice");
  });
});

describe("checkGenericTarget: private targets are refused", () => {
  const cases: Array<[string, string, RegExp]> = [
    // IPv4 ranges
    ["loopback", "127.0.0.1", /loopback/],
    ["loopback top", "127.255.255.254", /loopback/],
    ["private 10", "10.1.2.3", /private/],
    ["private 172.16", "172.16.0.1", /private/],
    ["private 172.31", "172.31.255.255", /private/],
    ["private 192.168", "192.168.1.1", /private/],
    ["link-local", "169.254.1.1", /link-local/],
    ["metadata", "169.254.169.254", /metadata/],
    ["cgnat low", "100.64.0.1", /carrier-grade/],
    ["cgnat high", "100.127.255.255", /carrier-grade/],
    ["unspecified", "0.0.0.0", /unspecified/],
    ["this network", "0.1.2.3", /unspecified/],
    ["multicast", "224.0.0.1", /multicast/],
    ["multicast top", "239.255.255.250", /multicast/],
    ["reserved", "240.0.0.1", /reserved/],
    ["broadcast", "255.255.255.255", /broadcast/],
    ["ietf", "192.0.0.8", /IETF/],
    ["benchmark", "198.18.0.1", /benchmarking/],
    // IPv4 spellings the URL parser normalises
    ["decimal", "2130706433", /loopback/],
    ["hex whole", "0x7f000001", /loopback/],
    ["hex upper", "0X7F000001", /loopback/],
    ["hex first octet", "0x7f.0.0.1", /loopback/],
    ["hex every octet", "0x7f.0x0.0x0.0x1", /loopback/],
    ["octal first octet", "0177.0.0.1", /loopback/],
    ["octal whole", "017700000001", /loopback/],
    ["short two parts", "127.1", /loopback/],
    ["short three parts", "127.0.1", /loopback/],
    ["zero", "0", /unspecified/],
    ["decimal metadata", "2852039166", /metadata/],
    ["hex metadata", "0xa9fea9fe", /metadata/],
    ["octal private", "012.0.0.1", /private/],
    ["short private", "10.1", /private/],
    ["percent-encoded", "%31%32%37.0.0.1", /loopback/],
    ["fullwidth digits", "\uff11\uff12\uff17.\uff10.\uff10.\uff11", /loopback/],
    ["ideographic full stops", "127\u30020\u30020\u30021", /loopback/],
    ["fullwidth localhost", "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54", /local-only/],
    ["v6 upper-case", "[::FFFF:7F00:1]", /IPv4-mapped.*loopback/],
    // trailing dots
    ["ipv4 trailing dot", "127.0.0.1.", /loopback/],
    ["ipv4 two trailing dots", "127.0.0.1..", /loopback/],
    ["hex trailing dot", "0x7f000001.", /loopback/],
    // IPv6
    ["v6 loopback", "[::1]", /loopback/],
    ["v6 loopback long", "[0:0:0:0:0:0:0:1]", /loopback/],
    ["v6 unspecified", "[::]", /unspecified/],
    ["ula fc", "[fc00::1]", /unique local/],
    ["ula fd", "[fd12:3456:789a::1]", /unique local/],
    ["link-local v6", "[fe80::1]", /link-local/],
    ["link-local v6 top", "[febf::1]", /link-local/],
    ["site-local", "[fec0::1]", /site-local/],
    ["multicast v6", "[ff02::1]", /multicast/],
    ["mapped dotted", "[::ffff:127.0.0.1]", /IPv4-mapped.*loopback/],
    ["mapped hex", "[::ffff:7f00:1]", /IPv4-mapped.*loopback/],
    ["mapped metadata", "[::ffff:169.254.169.254]", /IPv4-mapped.*link-local/],
    ["mapped private", "[::ffff:10.0.0.1]", /IPv4-mapped.*private/],
    ["compatible", "[::127.0.0.1]", /IPv4-compatible/],
    ["compatible hex", "[::7f00:1]", /IPv4-compatible/],
    ["compatible public", "[::8.8.8.8]", /IPv4-compatible/],
    ["nat64", "[64:ff9b::127.0.0.1]", /NAT64.*loopback/],
    ["nat64 hex", "[64:ff9b::a00:1]", /NAT64.*private/],
    ["nat64 local-use", "[64:ff9b:1::1]", /local-use NAT64/],
    ["6to4 private", "[2002:c0a8:101::1]", /6to4.*private/],
    ["documentation v6", "[2001:db8::1]", /documentation/],
    ["v6 with port", "[::1]:8080", /loopback/],
    ["ipv4-translated dotted", "[::ffff:0:127.0.0.1]", /IPv4-translated/],
    ["ipv4-translated public", "[::ffff:0:8.8.8.8]", /IPv4-translated/],
    ["ipv4-translated hex", "[::ffff:0:a9fe:a9fe]", /IPv4-translated/],
    ["teredo", "[2001::1]", /Teredo/],
    ["teredo full", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", /Teredo/],
    // names
    ["localhost", "localhost", /local-only/],
    ["localhost upper", "LOCALHOST", /local-only/],
    ["localhost trailing dot", "localhost.", /local-only/],
    ["localhost two dots", "localhost..", /local-only/],
    ["localhost port", "localhost:8787", /local-only/],
    ["sub.localhost", "api.localhost", /\*\.localhost/],
    ["sub.localhost dot", "a.b.localhost.", /\*\.localhost/],
    ["percent localhost", "%6c%6fcalhost", /local-only/],
    ["localdomain", "localhost.localdomain", /local-only/],
    ["gcp metadata", "metadata.google.internal", /local-only/],
    ["metadata single label", "metadata", /metadata/],
    ["metadata upper", "METADATA", /metadata/],
    ["metadata trailing dot", "metadata.", /metadata/],
    ["metadata two dots", "Metadata..", /metadata/],
    ["instance-data", "instance-data", /metadata/],
    ["instance-data upper dot", "INSTANCE-DATA.", /metadata/],
    ["percent metadata", "%6detadata", /metadata/],
    ["internal", "db.internal", /\*\.internal/],
    ["mdns", "printer.local", /\*\.local/],
    ["home.arpa", "router.home.arpa", /\*\.home\.arpa/],
    ["ipv4 with port", "127.0.0.1:8787", /loopback/],
  ];

  it.each(cases)("%s: %s", (_label, hostPort, why) => {
    for (const scheme of ["http", "wss"]) {
      const error = refusal(scheme, hostPort);
      expect(error.status).toBe(403);
      expect(error.reason).toBe("private_target");
      expect(error.message).toMatch(why);
      expect(error.message).toContain("refused");
      expect(error.message).toContain("ALLOW_PRIVATE_TARGETS=true");
      expect(error.message).toContain("local testing only");
    }
  });

  it.each(cases)("allowPrivate lets %s through: %s", (_label, hostPort) => {
    const { url } = checkGenericTarget("http", hostPort, true);
    expect(url.pathname).toBe("/");
  });

  it("names the normalised address in the message", () => {
    expect(refusal("https", "0x7f.1").message).toContain('"127.0.0.1"');
    expect(refusal("https", "[::ffff:127.0.0.1]").message).toContain('"[::ffff:7f00:1]"');
  });

  it("returns the normalised URL when private targets are allowed", () => {
    expect(checkGenericTarget("http", "0x7f.1:9000", true).url.href).toBe("http://127.0.0.1:9000/");
    expect(checkGenericTarget("ws", "[::1]:9000", true).url.host).toBe("[::1]:9000");
  });
});

describe("classifyHost", () => {
  it("checks the bare parser output too", () => {
    expect(classifyHost("8.8.8.8")).toBeNull();
    expect(classifyHost("example.com")).toBeNull();
    expect(classifyHost("example.com.")).toBeNull();
    expect(classifyHost("127.0.0.1")).toMatch(/loopback/);
    expect(classifyHost("[::1]")).toMatch(/loopback/);
    expect(classifyHost("[not-ipv6]")).toMatch(/unparseable/);
    expect(classifyHost("...")).toMatch(/empty/);
  });
});

describe("parseIpv6", () => {
  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ["::127.0.0.1", [0, 0, 0, 0, 0, 0, 0x7f00, 1]],
    ["1:2:3:4:5:6:1.2.3.4", [1, 2, 3, 4, 5, 6, 0x102, 0x304]],
    ["FE80::ABCD", [0xfe80, 0, 0, 0, 0, 0, 0, 0xabcd]],
  ])("parses %s", (text, groups) => {
    expect(parseIpv6(text)).toEqual(groups);
  });

  it.each([
    "",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "g::1",
    "::256.0.0.1",
    "1:2:3:4:5:6:7::8",
  ])("rejects %j", (text) => {
    expect(parseIpv6(text)).toBeNull();
  });
});

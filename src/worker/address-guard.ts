/**
 * Private-address guard for generic mode (`/{token}/{scheme}/{host[:port]}/...`, DESIGN §4, issue 2
 * item 8). Pure: it looks only at the literal host, never resolves DNS.
 *
 * The host is first run through the WHATWG URL parser (the same one workerd uses for fetch), which
 * percent-decodes it, lowercases it, applies IDNA and — for the special schemes http/https/ws/wss —
 * rewrites every IPv4 spelling the parser accepts (decimal `2130706433`, hex `0x7f000001` and
 * `0x7f.0.0.1`, octal `0177.0.0.1`, short `127.1`) into a dotted quad, and every IPv6 literal into
 * its compressed hex form (`::ffff:127.0.0.1` → `::ffff:7f00:1`). Checking the parser's output
 * rather than the raw text means the guard sees exactly the address the egress layer will dial.
 *
 * Not covered (by design of a pure check): names that resolve to private addresses (wildcard DNS
 * such as `127.0.0.1.nip.io`, DNS rebinding). In production a Worker has no private network to
 * reach; locally, `ALLOW_PRIVATE_TARGETS` is meant to be on only for testing.
 */
import { BadRequestError, ForbiddenError } from "../transport/errors";

export type GenericScheme = "http" | "https" | "ws" | "wss";

const ALLOWED_SCHEMES: ReadonlySet<string> = new Set(["http", "https", "ws", "wss"]);

/** Delimiters that would let the host segment smuggle userinfo, a path, a query or a fragment. */
const HOST_DELIMITERS = /[\s/\\?#@\x00-\x1f\x7f]/;

const HOW_TO_ALLOW =
  "Set ALLOW_PRIVATE_TARGETS=true to allow loopback/private/link-local targets (local testing only; never in production).";

/**
 * Validates a generic-mode target and returns the normalised origin URL (path `/`).
 * @throws BadRequestError when the scheme, host or port is malformed.
 * @throws ForbiddenError (`reason` "private_target") for a scheme other than http/https/ws/wss, or,
 *   unless `allowPrivate`, a loopback, private, link-local, CGNAT, multicast, reserved or otherwise
 *   non-public address or a local-only name.
 */
export function checkGenericTarget(scheme: string, hostPort: string, allowPrivate: boolean): { url: URL } {
  const normalizedScheme = scheme.toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(normalizedScheme)) {
    throw new BadRequestError("malformed target scheme: expected http, https, ws or wss");
  }
  if (!ALLOWED_SCHEMES.has(normalizedScheme)) {
    // Not an address question, so ALLOW_PRIVATE_TARGETS does not lift it: the gateway speaks only these.
    throw new ForbiddenError(
      `target scheme "${normalizedScheme}" refused: generic mode proxies only http, https, ws and wss`,
      "private_target",
    );
  }
  const url = parseHostPort(normalizedScheme, hostPort);
  if (!allowPrivate) {
    const refusal = classifyHost(url.hostname);
    if (refusal !== null) {
      throw new ForbiddenError(
        `target host "${url.hostname}" refused: ${refusal}. ${HOW_TO_ALLOW}`,
        "private_target",
      );
    }
  }
  return { url };
}

function parseHostPort(scheme: string, hostPort: string): URL {
  if (hostPort === "") throw new BadRequestError("malformed target: empty host");
  if (hostPort.includes("@")) {
    // Never echo the input: `user:key@host` would put a credential into the error body.
    throw new BadRequestError("malformed target host: credentials (user@host) are not supported");
  }
  if (HOST_DELIMITERS.test(hostPort)) {
    throw new BadRequestError(
      "malformed target host: it may not contain whitespace, control characters, / \\ ? or #",
    );
  }
  const portMatch = /:(\d*)$/.exec(hostPort);
  const isBareIpv6 = hostPort.startsWith("[") && hostPort.endsWith("]");
  if (portMatch !== null && !isBareIpv6) {
    const port = portMatch[1] ?? "";
    if (port === "" || port.length > 5 || Number(port) < 1 || Number(port) > 65535) {
      throw new BadRequestError("malformed target port: expected a number from 1 to 65535");
    }
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${hostPort}/`);
  } catch {
    throw new BadRequestError("malformed target host or port");
  }
  // Belt and braces: the delimiter check above should make these impossible.
  if (
    url.username !== "" ||
    url.password !== "" ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    throw new BadRequestError("malformed target host");
  }
  if (/^\.*$/.test(url.hostname)) throw new BadRequestError("malformed target: empty host");
  return url;
}

/** Returns why the host is refused, or null when it is a public name or address. */
export function classifyHost(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const groups = parseIpv6(hostname.slice(1, -1));
    if (groups === null) return "unparseable IPv6 address";
    return classifyIpv6(groups);
  }
  // `localhost.` and `127.0.0.1..` are the same host to a resolver; strip the root dots and let the
  // URL parser re-normalise what remains (it accepts one trailing dot on an IPv4 literal only).
  let name = hostname.toLowerCase();
  while (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "") return "empty host name";
  if (name !== hostname) {
    try {
      name = new URL(`http://${name}/`).hostname;
    } catch {
      return "malformed host name";
    }
  }
  const v4 = parseDottedQuad(name);
  if (v4 !== null) return classifyIpv4(v4);
  return classifyName(name);
}

const LOCAL_NAMES: ReadonlySet<string> = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
  "metadata.google.internal",
]);
/** Special-use suffixes that never name a public host (RFC 6761, RFC 6762, RFC 8375, ICANN `.internal`). */
const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa"];

/**
 * Single-label names that cloud providers resolve to their instance metadata service from inside a
 * VM (GCP `metadata`, AWS `instance-data`): a credential store, never an API an operator proxies to.
 */
const METADATA_NAMES: ReadonlySet<string> = new Set(["metadata", "instance-data"]);

function classifyName(name: string): string | null {
  if (METADATA_NAMES.has(name)) return "cloud metadata service name";
  if (LOCAL_NAMES.has(name)) return "local-only host name";
  for (const suffix of LOCAL_SUFFIXES) {
    if (name.endsWith(suffix)) return `local-only host name (*${suffix})`;
  }
  return null;
}

/** Strict dotted-decimal parse of what the URL parser emits for IPv4 hosts. */
function parseDottedQuad(name: string): number | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (match === null) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

interface Ipv4Range {
  base: number;
  bits: number;
  label: string;
}

function v4(a: number, b: number, c: number, d: number): number {
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

/** Special-purpose IPv4 blocks that are not globally reachable (IANA registry, RFC 6890). */
const IPV4_BLOCKED: readonly Ipv4Range[] = [
  { base: v4(0, 0, 0, 0), bits: 8, label: "unspecified/this-network address (0.0.0.0/8)" },
  { base: v4(10, 0, 0, 0), bits: 8, label: "private address (10.0.0.0/8)" },
  { base: v4(100, 64, 0, 0), bits: 10, label: "carrier-grade NAT address (100.64.0.0/10)" },
  { base: v4(127, 0, 0, 0), bits: 8, label: "loopback address (127.0.0.0/8)" },
  {
    base: v4(169, 254, 0, 0),
    bits: 16,
    label: "link-local address (169.254.0.0/16, includes the cloud metadata service)",
  },
  { base: v4(172, 16, 0, 0), bits: 12, label: "private address (172.16.0.0/12)" },
  { base: v4(192, 0, 0, 0), bits: 24, label: "IETF protocol assignment (192.0.0.0/24)" },
  { base: v4(192, 0, 2, 0), bits: 24, label: "documentation address (192.0.2.0/24)" },
  { base: v4(192, 88, 99, 0), bits: 24, label: "deprecated 6to4 relay anycast address (192.88.99.0/24)" },
  { base: v4(192, 168, 0, 0), bits: 16, label: "private address (192.168.0.0/16)" },
  { base: v4(198, 18, 0, 0), bits: 15, label: "benchmarking address (198.18.0.0/15)" },
  { base: v4(198, 51, 100, 0), bits: 24, label: "documentation address (198.51.100.0/24)" },
  { base: v4(203, 0, 113, 0), bits: 24, label: "documentation address (203.0.113.0/24)" },
  { base: v4(224, 0, 0, 0), bits: 4, label: "multicast address (224.0.0.0/4)" },
  { base: v4(240, 0, 0, 0), bits: 4, label: "reserved or broadcast address (240.0.0.0/4)" },
];

export function classifyIpv4(address: number): string | null {
  for (const range of IPV4_BLOCKED) {
    const size = 2 ** (32 - range.bits);
    if (address >= range.base && address < range.base + size) return range.label;
  }
  return null;
}

/** Parses an IPv6 literal (without brackets) into eight 16-bit groups; null when malformed. */
export function parseIpv6(text: string): number[] | null {
  let body = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
  if (dotted !== null) {
    const quad = parseDottedQuad(dotted[1] ?? "");
    if (quad === null) return null;
    tail.push(Math.floor(quad / 65536), quad % 65536);
    body = body.slice(0, -(dotted[1] ?? "").length);
    body = body.endsWith("::") ? body : body.endsWith(":") ? body.slice(0, -1) : body;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const parseHalf = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    for (const piece of half.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(piece)) return null;
      out.push(Number.parseInt(piece, 16));
    }
    return out;
  };
  const head = parseHalf(halves[0] ?? "");
  const rest = halves.length === 2 ? parseHalf(halves[1] ?? "") : [];
  if (head === null || rest === null) return null;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (explicit > 7) return null;
    return [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  }
  return explicit === 8 ? [...head, ...tail] : null;
}

function embeddedIpv4(high: number, low: number): number {
  return high * 65536 + low;
}

function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
}

export function classifyIpv6(g: readonly number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const first80Zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (first80Zero && g5 === 0 && g6 === 0) {
    if (g7 === 0) return "unspecified IPv6 address (::)";
    if (g7 === 1) return "IPv6 loopback address (::1)";
  }
  if (first80Zero && g5 === 0) {
    // ::a.b.c.d (RFC 4291 §2.5.5.1) is deprecated; stacks that still honour it dial the IPv4 address.
    return `IPv4-compatible IPv6 address (::${formatIpv4(embeddedIpv4(g6, g7))}, deprecated)`;
  }
  if (first80Zero && g5 === 0xffff) {
    const inner = classifyIpv4(embeddedIpv4(g6, g7));
    return inner === null ? null : `IPv4-mapped IPv6 address embedding a ${inner}`;
  }
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) {
    // ::ffff:0:a.b.c.d (RFC 2765 SIIT): a translator on the path would dial the IPv4 address, and the
    // block is not globally routed, so it is refused whatever it embeds.
    return `IPv4-translated IPv6 address (::ffff:0:${formatIpv4(embeddedIpv4(g6, g7))})`;
  }
  if (g0 === 0x2001 && g1 === 0) {
    // Teredo (RFC 4380) tunnels to an IPv4 server and client encoded (obfuscated) in the address: the
    // guard cannot tell where it ends up, so the whole 2001::/32 is refused.
    return "Teredo tunnel address (2001::/32)";
  }
  if (g0 === 0x2001 && g1 < 0x200) {
    // The rest of 2001::/23 (RFC 2928): benchmarking, ORCHID, AMT, AS112 and other protocol blocks,
    // never an API host.
    return "IETF protocol assignment (2001::/23)";
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    const inner = classifyIpv4(embeddedIpv4(g6, g7));
    return inner === null ? null : `NAT64 address (64:ff9b::/96) embedding a ${inner}`;
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return "local-use NAT64 address (64:ff9b:1::/48)";
  if (g0 === 0x2002) {
    const inner = classifyIpv4(embeddedIpv4(g1, g2));
    return inner === null ? null : `6to4 address (2002::/16) embedding a ${inner}`;
  }
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return "discard-only IPv6 address (100::/64)";
  if (g0 === 0x2001 && g1 === 0xdb8) return "IPv6 documentation address (2001:db8::/32)";
  if (g0 === 0x3fff && g1 < 0x1000) return "IPv6 documentation address (3fff::/20)";
  if (g0 === 0x5f00) return "IPv6 segment routing SID (5f00::/16)";
  if ((g0 & 0xfe00) === 0xfc00) return "IPv6 unique local address (fc00::/7)";
  if ((g0 & 0xffc0) === 0xfe80) return "IPv6 link-local address (fe80::/10)";
  if ((g0 & 0xffc0) === 0xfec0) return "IPv6 site-local address (fec0::/10, deprecated)";
  if ((g0 & 0xff00) === 0xff00) return "IPv6 multicast address (ff00::/8)";
  return null;
}

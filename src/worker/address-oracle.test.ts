/**
 * `ipaddr.js` (dev dependency only) as an oracle for the private-address guard: random IPv4 and IPv6
 * addresses, drawn mostly from special-purpose ranges and spelled every way the URL parser accepts,
 * must be refused exactly when `ipaddr.js` puts them in a range other than `unicast`, except for the
 * deliberate differences named in `ipv4Expectation` / `ipv6Expectation` with their reasons.
 */
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../transport/errors";
import { checkGenericTarget } from "./address-guard";

type Verdict = "refused" | "allowed";

function verdict(hostPort: string): Verdict {
  try {
    checkGenericTarget("https", hostPort, false);
    return "allowed";
  } catch (error) {
    if (error instanceof ForbiddenError) return "refused";
    throw error;
  }
}

/** IPv4 blocks ipaddr.js lists as special that IANA marks globally reachable: public anycast services. */
const PUBLIC_IPV4_SERVICES: [string, number][] = [
  ["192.175.48.0", 24], // AS112 DNS sink (RFC 7534)
  ["192.31.196.0", 24], // AS112 DNS sink (RFC 7535)
  ["192.52.193.0", 24], // AMT relays (RFC 7450)
];

/** What the guard must say about an IPv4 address, from ipaddr.js's range and our named differences. */
function ipv4Expectation(address: ipaddr.IPv4): Verdict {
  if (PUBLIC_IPV4_SERVICES.some(([base, bits]) => address.match(ipaddr.IPv4.parse(base), bits)))
    return "allowed";
  return address.range() === "unicast" ? "allowed" : "refused";
}

/** The IPv4 address two 16-bit groups spell. */
const embedded = (high: number, low: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([high >> 8, high & 255, low >> 8, low & 255]);

function ipv6Expectation(address: ipaddr.IPv6): Verdict {
  const g = address.parts as [number, number, number, number, number, number, number, number];
  const range = address.range();
  // A mapped, NAT64 or 6to4 address reaches the IPv4 address it embeds: we judge that address, where
  // ipaddr.js names the translation range (and refuses every one of them).
  const nat64 = range === "rfc6052" && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0;
  if (range === "ipv4Mapped" || nat64) return ipv4Expectation(embedded(g[6], g[7]));
  if (range === "6to4") return ipv4Expectation(embedded(g[1], g[2]));
  // IPv4-compatible `::a.b.c.d` is deprecated (RFC 4291) and still dialed as IPv4 by some stacks:
  // we refuse the whole ::/96, where ipaddr.js calls it unicast.
  if (g.slice(0, 6).every((x) => x === 0)) return "refused";
  // AS112 over IPv6 outside 2001::/23 is a public anycast DNS service (IANA: globally reachable).
  if (address.match(ipaddr.IPv6.parse("2620:4f:8000::"), 48)) return "allowed";
  return range === "unicast" ? "allowed" : "refused";
}

type RangeTable = Record<string, [{ toString(): string }, number] | [{ toString(): string }, number][]>;
/** Every special range ipaddr.js knows (its `SpecialRanges` tables, untyped in its declarations). */
function rangesOf(table: RangeTable): [string, number][] {
  return Object.values(table).flatMap((r) =>
    (Array.isArray(r[0]) ? (r as [unknown, number][]) : [r as [unknown, number]]).map(
      ([a, bits]) => [String(a), bits] as [string, number],
    ),
  );
}
const specialRanges = (a: object): RangeTable => (a as { SpecialRanges: RangeTable }).SpecialRanges;

const ipv4Ranges: [string, number][] = [
  ...rangesOf(specialRanges(new ipaddr.IPv4([0, 0, 0, 0]))),
  ["8.8.8.0", 24],
];
const ipv6Ranges: [string, number][] = [
  ...rangesOf(specialRanges(new ipaddr.IPv6([0, 0, 0, 0, 0, 0, 0, 0]))),
  ["2606:4700::", 32],
];

/** An address inside `base/bits` with random host bits. */
function within(base: number[], bits: number, random: number[], width: number): number[] {
  return base.map((part, i) => {
    const fixed = Math.max(0, Math.min(width, bits - i * width));
    const keep = fixed === 0 ? 0 : ((1 << width) - 1) & ~((1 << (width - fixed)) - 1);
    return (part & keep) | (random[i]! & ~keep & ((1 << width) - 1));
  });
}

const ipv4 = fc
  .record({
    range: fc.option(fc.constantFrom(...ipv4Ranges), { freq: 5 }),
    random: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }),
  })
  .map(({ range, random }) =>
    range === null
      ? new ipaddr.IPv4(random)
      : new ipaddr.IPv4(within(ipaddr.IPv4.parse(range[0]).octets, range[1], random, 8)),
  );
const ipv6 = fc
  .record({
    range: fc.option(fc.constantFrom(...ipv6Ranges), { freq: 5 }),
    random: fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }),
  })
  .map(({ range, random }) =>
    range === null
      ? new ipaddr.IPv6(random)
      : new ipaddr.IPv6(within(ipaddr.IPv6.parse(range[0]).parts, range[1], random, 16)),
  );

/** Spellings of an IPv4 address that the WHATWG URL parser (and so workerd's fetch) accepts. */
function ipv4Spellings(a: ipaddr.IPv4): string[] {
  const [o0, o1, o2, o3] = a.octets as [number, number, number, number];
  const n = ((o0 * 256 + o1) * 256 + o2) * 256 + o3;
  return [
    `${o0}.${o1}.${o2}.${o3}`,
    String(n),
    `0x${n.toString(16)}`,
    a.octets.map((o) => `0x${o.toString(16)}`).join("."),
    a.octets.map((o) => `0${o.toString(8)}`).join("."),
    `${o0}.${o1}.${o2 * 256 + o3}`,
    `${o0}.${(o1 * 256 + o2) * 256 + o3}`,
    `${o0}.${o1}.${o2}.${o3}.`,
    `${o0}.${o1}.${o2}.${o3}:8443`,
  ];
}

function ipv6Spellings(a: ipaddr.IPv6): string[] {
  const g = a.parts;
  const tail = `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return [
    a.toString(),
    a.toString().toUpperCase(),
    a.toNormalizedString(),
    g.map((x) => x.toString(16).padStart(4, "0")).join(":"),
    `${g
      .slice(0, 6)
      .map((x) => x.toString(16))
      .join(":")}:${tail}`,
  ].flatMap((s) => [`[${s}]`, `[${s}]:443`]);
}

describe("address guard against ipaddr.js", () => {
  it("refuses an IPv4 address, however spelled, exactly when ipaddr.js says it is not unicast", () => {
    fc.assert(
      fc.property(ipv4, (address) => {
        const want = ipv4Expectation(address);
        for (const spelling of ipv4Spellings(address)) {
          expect([spelling, verdict(spelling)]).toEqual([spelling, want]);
        }
        // The oracle reads the legacy spellings as the same address the URL parser does.
        expect(ipaddr.parse(ipv4Spellings(address)[3]!).toString()).toBe(address.toString());
        expect(ipaddr.parse(ipv4Spellings(address)[4]!).toString()).toBe(address.toString());
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses an IPv6 address, however spelled, exactly when ipaddr.js says it is not unicast", () => {
    fc.assert(
      fc.property(ipv6, (address) => {
        const want = ipv6Expectation(address);
        for (const spelling of ipv6Spellings(address)) {
          expect([spelling, verdict(spelling)]).toEqual([spelling, want]);
        }
      }),
      { numRuns: 1000 },
    );
  });

  describe("named cases", () => {
    const range = (host: string) => ipaddr.parse(host.replace(/^\[|\]$/g, "")).range();
    it.each([
      // host, ipaddr.js's range, our verdict, why
      ["[::ffff:8.8.8.8]", "ipv4Mapped", "allowed", "judged by the IPv4 address it maps to"],
      ["[64:ff9b::808:808]", "rfc6052", "allowed", "NAT64 to a public IPv4 address is that address"],
      ["[2002:808:808::1]", "6to4", "allowed", "6to4 of a public IPv4 address is that address"],
      ["[::808:808]", "unicast", "refused", "IPv4-compatible (deprecated) is refused whatever it embeds"],
      ["192.175.48.1", "as112", "allowed", "AS112 is a public anycast DNS service"],
      ["[2620:4f:8000::1]", "as112v6", "allowed", "AS112 is a public anycast DNS service"],
    ])("%s (ipaddr.js: %s) is %s: %s", (host, ipaddrRange, ours) => {
      expect(range(host)).toBe(ipaddrRange);
      expect(verdict(host)).toBe(ours);
    });

    it("reads ::a.b.c.d as IPv4-compatible, where ipaddr.js reads it as IPv4-mapped (its mistake)", () => {
      expect(ipaddr.parse("::8.8.8.8").toString()).toBe("::ffff:808:808");
      expect(verdict("[::8.8.8.8]")).toBe("refused");
      expect(verdict("[::ffff:8.8.8.8]")).toBe("allowed");
    });

    it.each(["192.88.99.1", "[2001:2::1]", "[2001:20::1]", "[3fff::1]", "[5f00::1]"])(
      "refuses %s, a non-public block the oracle found the guard letting through",
      (host) => {
        expect(range(host)).not.toBe("unicast");
        expect(verdict(host)).toBe("refused");
      },
    );
  });
});

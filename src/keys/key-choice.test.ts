import { describe, expect, it } from "vitest";
import { seededRandom } from "../../test/support/seeded-random";
import { rendezvousPick } from "./affinity";
import type { KeyPool } from "./fingerprint";
import { chooseKey } from "./key-choice";
import { emptyKeyRecord, type KeyRecord } from "./key-state";

const pool: KeyPool = {
  secret: "P",
  generation: "g",
  keys: [
    { key: "ka", weight: 1, fingerprint: "aaaa" },
    { key: "kb", weight: 2, fingerprint: "bbbb" },
    { key: "kc", weight: 1, fingerprint: "cccc" },
  ],
};

function cooling(fp: string, until: number, kind: "rate_limited" | "exhausted" = "rate_limited"): KeyRecord {
  return { ...emptyKeyRecord(fp), cooldownUntil: until, cooldownKind: kind };
}

/** Expected count ± 4.5 standard deviations of a binomial: fails by chance with p < 1e-5. */
function expectNear(observed: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p)).toBeLessThan(4.5 * sd);
}

describe("chooseKey", () => {
  it("spreads by weight over usable keys (seeded)", () => {
    const random = seededRandom(14);
    const n = 20_000;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const c = chooseKey(pool, {}, { now: 0, random });
      if (c.kind !== "key") throw new Error(c.kind);
      counts[c.key.fingerprint] = (counts[c.key.fingerprint] ?? 0) + 1;
    }
    expectNear(counts.aaaa!, n, 0.25);
    expectNear(counts.bbbb!, n, 0.5);
    expectNear(counts.cccc!, n, 0.25);
  });

  it("skips cooling, invalid and tried keys", () => {
    const records = {
      aaaa: cooling("aaaa", 100),
      bbbb: { ...emptyKeyRecord("bbbb"), invalidGeneration: "g" },
    };
    const random = seededRandom(1);
    for (let i = 0; i < 50; i++) {
      const c = chooseKey(pool, records, { now: 0, random });
      expect(c.kind === "key" && c.key.fingerprint).toBe("cccc");
    }
    expect(chooseKey(pool, records, { now: 0, random, exclude: new Set(["cccc"]) })).toEqual({
      kind: "cooling",
      until: 100,
    });
    // Once the cool-down ended the key is chosen again.
    const after = chooseKey(pool, records, { now: 100, random, exclude: new Set(["cccc"]) });
    expect(after.kind === "key" && after.key.fingerprint).toBe("aaaa");
  });

  it("every key cooling: the soonest end; every key invalid: none", () => {
    const records = {
      aaaa: cooling("aaaa", 900),
      bbbb: cooling("bbbb", 300, "exhausted"),
      cccc: cooling("cccc", 500),
    };
    expect(chooseKey(pool, records, { now: 0, random: Math.random })).toEqual({
      kind: "cooling",
      until: 300,
    });
    const invalid = Object.fromEntries(
      pool.keys.map((k) => [k.fingerprint, { ...emptyKeyRecord(k.fingerprint), invalidGeneration: "g" }]),
    );
    expect(chooseKey(pool, invalid, { now: 0, random: Math.random })).toEqual({ kind: "none" });
  });

  it("affinity pins a conversation to one key and follows it only when that key drops out", () => {
    const random = () => {
      throw new Error("affinity must not use the random source");
    };
    const pinned = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const c = chooseKey(pool, {}, { now: 0, random, affinity: `conv-${i}` });
      if (c.kind !== "key") throw new Error(c.kind);
      pinned.set(`conv-${i}`, c.key.fingerprint);
      const again = chooseKey(pool, {}, { now: 0, random, affinity: `conv-${i}` });
      expect(again.kind === "key" && again.key.fingerprint).toBe(c.key.fingerprint);
    }
    // Conversations spread over the keys roughly by weight.
    const onB = [...pinned.values()].filter((f) => f === "bbbb").length;
    expectNear(onB, 200, 0.5);
    // Key aaaa cools down: only its conversations move; the others keep their key.
    const records = { aaaa: cooling("aaaa", 1_000) };
    for (const [conv, fp] of pinned) {
      const c = chooseKey(pool, records, { now: 0, random, affinity: conv });
      if (c.kind !== "key") throw new Error(c.kind);
      if (fp === "aaaa") expect(c.key.fingerprint).not.toBe("aaaa");
      else expect(c.key.fingerprint).toBe(fp);
      // After the cool-down, back to the original pin.
      const back = chooseKey(pool, records, { now: 1_000, random, affinity: conv });
      expect(back.kind === "key" && back.key.fingerprint).toBe(fp);
    }
  });
});

describe("rendezvousPick", () => {
  it("ignores non-positive weights and returns null for none", () => {
    expect(rendezvousPick([{ id: "x", weight: 0, item: 1 }], "a")).toBeNull();
    expect(
      rendezvousPick(
        [
          { id: "x", weight: 0, item: 1 },
          { id: "y", weight: 1, item: 2 },
        ],
        "a",
      ),
    ).toBe(2);
  });
});

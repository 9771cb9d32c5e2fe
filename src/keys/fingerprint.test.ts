import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildKeyPool, FINGERPRINT_HEX_CHARS, fingerprintOf, resolveKeyPool } from "./fingerprint";

describe("fingerprints", () => {
  it("are the last hex digits of the key's SHA-256", async () => {
    const expected = createHash("sha256").update("sk-test-1").digest("hex").slice(-FINGERPRINT_HEX_CHARS);
    expect(await fingerprintOf("sk-test-1")).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{8}$/);
  });

  it("a pool refuses the same key twice, naming positions not the key", async () => {
    await expect(
      buildKeyPool("P", [
        { key: "dup-key", weight: 1 },
        { key: "other", weight: 1 },
        { key: "dup-key", weight: 2 },
      ]),
    ).rejects.toThrow(/keys number 1 and 3 are the same key/);
  });

  it("the pool generation changes with any key or weight, and not otherwise", async () => {
    const a = await buildKeyPool("P", [
      { key: "k1", weight: 1 },
      { key: "k2", weight: 1 },
    ]);
    const same = await buildKeyPool("P", [
      { key: "k1", weight: 1 },
      { key: "k2", weight: 1 },
    ]);
    const reweighted = await buildKeyPool("P", [
      { key: "k1", weight: 2 },
      { key: "k2", weight: 1 },
    ]);
    const added = await buildKeyPool("P", [
      { key: "k1", weight: 1 },
      { key: "k2", weight: 1 },
      { key: "k3", weight: 1 },
    ]);
    expect(same.generation).toBe(a.generation);
    expect(reweighted.generation).not.toBe(a.generation);
    expect(added.generation).not.toBe(a.generation);
  });

  it("resolveKeyPool caches per text and reports a missing secret by name", async () => {
    const first = resolveKeyPool("POOL", "a\nb weight=2");
    expect(resolveKeyPool("POOL", "a\nb weight=2")).toBe(first);
    const pool = await first;
    expect(pool.keys.map((k) => k.weight)).toEqual([1, 2]);
    await expect(resolveKeyPool("MISSING", undefined)).rejects.toThrow(
      /MISSING: the key pool secret is not set/,
    );
    await expect(resolveKeyPool("BAD", "k weight=-1")).rejects.toThrow(/BAD line 1/);
  });
});

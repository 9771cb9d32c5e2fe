import { describe, expect, it } from "vitest";
import type { GenerateContentResponse } from "../../gemini/types";
import { digestOf, EventDigest, encodeLine, LineReader } from "./handover-lines";

const ev = (text: string): GenerateContentResponse => ({
  candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0 }],
});

describe("hand-over digest", () => {
  it("is the same for the same events, whether kept running or computed from a log", () => {
    const d = new EventDigest();
    for (const t of ["a", "b", "c"]) d.add(ev(t));
    expect(d.value).toBe(digestOf([ev("a"), ev("b"), ev("c"), ev("d")], 3));
    expect(d.count).toBe(3);
  });

  it("differs for a changed, missing, extra or reordered event", () => {
    const base = digestOf([ev("a"), ev("b")], 2);
    expect(digestOf([ev("a"), ev("c")], 2)).not.toBe(base);
    expect(digestOf([ev("a")], 2)).not.toBe(base);
    expect(digestOf([ev("b"), ev("a")], 2)).not.toBe(base);
    expect(digestOf([ev("ab")], 1)).not.toBe(digestOf([ev("a"), ev("b")], 1));
  });
});

describe("LineReader", () => {
  it("parses lines split anywhere, multi-byte characters included", () => {
    const bytes = new TextEncoder().encode(
      encodeLine({ e: ev("héllo ✓") }) + encodeLine({ end: { result: "complete" } }),
    );
    const reader = new LineReader();
    const out = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...reader.push(bytes.subarray(i, i + 3)));
    expect(out).toEqual([{ e: ev("héllo ✓") }, { end: { result: "complete" } }]);
    expect(reader.pending).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { DEFAULT_RESUME_BUDGET, ResumeBudget } from "./live-budget";

function budget(opts = {}) {
  let now = 1_000_000;
  const b = new ResumeBudget(
    { maxResumes: 4, windowMs: 60_000, backoffBaseMs: 500, backoffMaxMs: 1_500, ...opts },
    () => now,
  );
  return { b, advance: (ms: number) => (now += ms) };
}

describe("ResumeBudget", () => {
  it("grants the first resumption at once, backs off the next ones, then refuses within the window", () => {
    const { b } = budget();
    expect([b.claim(), b.claim(), b.claim(), b.claim()]).toEqual([0, 500, 1_000, 1_500]);
    expect(b.claim()).toBeNull();
    expect(b.claim()).toBeNull();
    expect(b.recent).toBe(4);
  });

  it("caps the backoff", () => {
    const { b } = budget({ maxResumes: 10, backoffMaxMs: 2_000 });
    const delays = Array.from({ length: 6 }, () => b.claim());
    expect(delays).toEqual([0, 500, 1_000, 2_000, 2_000, 2_000]);
  });

  it("grants again once old resumptions left the window, starting from no backoff", () => {
    const { b, advance } = budget();
    for (let i = 0; i < 4; i++) b.claim();
    advance(59_000);
    expect(b.claim()).toBeNull();
    // The backoffs count from each grant's start: the last one started 3 s after the first.
    advance(1_000 + 3_000);
    expect(b.recent).toBe(0);
    expect(b.claim()).toBe(0);
  });

  it("an upstream that drops after every message gets at most maxResumes connections per window", () => {
    const { b, advance } = budget({ maxResumes: DEFAULT_RESUME_BUDGET.maxResumes });
    let connections = 0;
    // 10 minutes of an upstream that accepts each resumption and drops it 10 ms later.
    for (let t = 0; t < 600_000; t += 10) {
      const delay = b.claim();
      if (delay === null) break;
      connections++;
      advance(delay + 10);
    }
    expect(connections).toBe(DEFAULT_RESUME_BUDGET.maxResumes);
  });
});

import { describe, expect, it } from "vitest";
import { type CounterDeltas, countersFrom, deltasFor, SESSION_EVENTS } from "./session-counters";

function apply(events: Parameters<typeof deltasFor>[0][]): CounterDeltas {
  const values: CounterDeltas = {};
  for (const e of events) {
    for (const [k, d] of Object.entries(deltasFor(e))) values[k] = (values[k] ?? 0) + d;
  }
  return values;
}

describe("session counters", () => {
  it("tracks a Gemini session lifecycle", () => {
    const c = countersFrom(
      apply([
        "gemini.started",
        "gemini.started",
        "gemini.continuation",
        "gemini.continuation",
        "gemini.recovered",
        "gemini.completed",
      ]),
    );
    expect(c.gemini).toEqual({ active: 1, completed: 1, recovered: 1, continuations: 2, failed: 0 });
  });

  it("tracks failures and WebSocket relays", () => {
    const c = countersFrom(
      apply(["gemini.started", "gemini.failed", "websocket.opened", "websocket.opened", "websocket.closed"]),
    );
    expect(c.gemini.failed).toBe(1);
    expect(c.gemini.active).toBe(0);
    expect(c.websocket).toEqual({ active: 1, completed: 1 });
  });

  it("never shows a negative active count", () => {
    expect(countersFrom(apply(["websocket.closed"])).websocket).toEqual({ active: 0, completed: 1 });
  });

  it("scales by count and defines every event", () => {
    for (const e of SESSION_EVENTS) expect(Object.keys(deltasFor(e, 3)).length).toBeGreaterThan(0);
    expect(deltasFor("gemini.continuation", 3)).toEqual({ "gemini.continuations": 3 });
  });
});

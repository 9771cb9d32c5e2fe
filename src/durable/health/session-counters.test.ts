import { describe, expect, it } from "vitest";
import { CallHold } from "../../../test/support/hold";
import {
  type CounterDeltas,
  countersFrom,
  deltasFor,
  flushSessionEvents,
  recordSessionEvent,
  SESSION_EVENTS,
  type SessionCountersEnv,
  sendSessionEvents,
} from "./session-counters";

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

/** Stands in for the counters object: records each batch; a call can be held in flight. */
class FakeCounters {
  batches: CounterDeltas[] = [];
  down = false;
  readonly #hold = new CallHold();
  /** The next call waits until the returned function is called. */
  holdNext(): () => void {
    return this.#hold.next();
  }
  async addSessionCounters(deltas: CounterDeltas): Promise<void> {
    if (this.down) throw new Error("object unreachable");
    this.batches.push({ ...deltas });
    await this.#hold.pass();
  }
}

function fakeEnv(object: FakeCounters): SessionCountersEnv {
  return {
    TARGET_HEALTH: { idFromName: (n: string) => n, get: () => object },
  } as unknown as SessionCountersEnv;
}

function caller() {
  const waits: Promise<unknown>[] = [];
  return { waits, waitUntil: (p: Promise<unknown>) => void waits.push(p) };
}

describe("session counter sends (context safety)", () => {
  it("a caller that finds a send in flight only queues; the sender's own loop carries its events", async () => {
    const object = new FakeCounters();
    const env = fakeEnv(object);
    const release = object.holdNext();
    const a = caller();
    const b = caller();
    recordSessionEvent(env, a.waitUntil, "gemini.started");
    recordSessionEvent(env, b.waitUntil, "websocket.opened");
    recordSessionEvent(env, b.waitUntil, "websocket.closed");
    expect(a.waits).toHaveLength(1);
    expect(b.waits).toHaveLength(0); // nothing started or chained in b's context
    release();
    await Promise.all(a.waits);
    expect(object.batches).toEqual([
      { "gemini.active": 1 },
      { "websocket.active": 0, "websocket.completed": 1 },
    ]);
  });

  it("sendSessionEvents sends at once with the caller's own RPC and resolves when acknowledged", async () => {
    const object = new FakeCounters();
    const env = fakeEnv(object);
    const releaseOther = object.holdNext();
    const other = caller();
    recordSessionEvent(env, other.waitUntil, "gemini.started"); // another caller's send, held in flight
    const own = caller();
    await sendSessionEvents(env, own.waitUntil, ["gemini.completed", "gemini.recovered"]);
    expect(own.waits).toHaveLength(1);
    expect(object.batches[1]).toEqual({ "gemini.active": -1, "gemini.completed": 1, "gemini.recovered": 1 });
    releaseOther();
    await Promise.all(other.waits);
    expect(object.batches).toHaveLength(2);
  });

  it("never rejects, and drops a batch the object did not take (statistics only)", async () => {
    const object = new FakeCounters();
    const env = fakeEnv(object);
    object.down = true;
    const a = caller();
    recordSessionEvent(env, a.waitUntil, "websocket.opened");
    await expect(Promise.all(a.waits)).resolves.toBeDefined();
    await expect(sendSessionEvents(env, a.waitUntil, ["websocket.closed"])).resolves.toBeUndefined();
    object.down = false;
    await flushSessionEvents(env);
    expect(object.batches).toEqual([]);
  });

  it("a waitUntil that throws (no request context) does not stop the send", async () => {
    const object = new FakeCounters();
    const env = fakeEnv(object);
    recordSessionEvent(
      env,
      () => {
        throw new Error("no context");
      },
      "gemini.continuation",
    );
    await flushSessionEvents(env);
    await sendSessionEvents(env, () => {}, []);
    expect(object.batches).toEqual([{ "gemini.continuations": 1 }]);
  });
});

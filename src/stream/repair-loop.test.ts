import { describe, expect, it } from "vitest";
import {
  type AttemptLoop,
  type AttemptStep,
  interruptedStep,
  type LoopAttemptRecord,
  raceTimeout,
  rateLimitedStep,
  runAttemptLoop,
  serverRetryStep,
  step,
  streamErrorWaitMs,
  TIMEOUT,
} from "./repair-loop";
import { DEFAULT_REPAIR_BOUNDS, type RepairClock, type RepairMode } from "./repair-types";

/** Time moves only when the loop sleeps; `sleeps` records each wait. */
function manualClock(): RepairClock & { sleeps: number[]; advance(ms: number): void } {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance: (ms) => {
      now += ms;
    },
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) return false;
      sleeps.push(ms);
      now += ms;
      return true;
    },
  };
}

interface Harness {
  loop: AttemptLoop<string, string, string>;
  clock: ReturnType<typeof manualClock>;
  modes: RepairMode[];
  records: LoopAttemptRecord[];
  links: AbortSignal[];
}

/** A loop whose attempts return `steps` in order; each attempt yields one event `a<n>`. */
function harness(
  steps: AttemptStep[],
  opts: {
    next?: RepairMode;
    bounds?: Partial<AttemptLoop<string, string, string>["bounds"]>;
    ctl?: AbortController;
  } = {},
): Harness {
  const clock = manualClock();
  const modes: RepairMode[] = [];
  const records: LoopAttemptRecord[] = [];
  const links: AbortSignal[] = [];
  let continuations = 0;
  const signal = (opts.ctl ?? new AbortController()).signal;
  const loop: AttemptLoop<string, string, string> = {
    clock,
    bounds: { ...DEFAULT_REPAIR_BOUNDS, ...opts.bounds },
    signal,
    startedAt: clock.now(),
    attempts: [],
    nextMode: () => opts.next ?? (modes.length === 0 ? "initial" : "continuation"),
    continuations: () => continuations,
    attempt: async function* (mode, ctl) {
      modes.push(mode);
      links.push(ctl.signal);
      if (mode === "continuation") continuations++;
      clock.advance(5);
      yield `a${modes.length}`;
      const s = steps.shift();
      if (s === undefined) throw new Error("no step left");
      return s;
    },
    recorded: (r) => records.push(r),
    giveUp: async function* (why) {
      yield `gave up: ${why}`;
      return `failed:${why}`;
    },
    summary: (result, finish) => `${result}:${finish}`,
  };
  return { loop, clock, modes, records, links };
}

async function drain(
  loop: AttemptLoop<string, string, string>,
): Promise<{ events: string[]; summary: string }> {
  const events: string[] = [];
  const gen = runAttemptLoop(loop);
  for (;;) {
    const next = await gen.next();
    if (next.done) return { events, summary: next.value };
    events.push(next.value);
  }
}

describe("runAttemptLoop", () => {
  it("records each attempt, waits as asked and stops at the first that finishes", async () => {
    const h = harness([
      step({ outcome: "truncated", reason: "idle_timeout", status: 200, answerChars: 3, waitMs: 500 }),
      step({ outcome: "complete", reason: "STOP", status: 200, done: "complete", finishReason: "STOP" }),
    ]);
    const out = await drain(h.loop);
    expect(out).toEqual({ events: ["a1", "a2"], summary: "complete:STOP" });
    expect(h.clock.sleeps).toEqual([500]);
    expect(h.records.map((r) => [r.n, r.mode, r.outcome, r.answerChars, r.durationMs])).toEqual([
      [1, "initial", "truncated", 3, 5],
      [2, "continuation", "complete", 0, 5],
    ]);
    expect(h.loop.attempts).toEqual(h.records);
    // Each attempt's upstream call is cancelled once the attempt is over.
    expect(h.links.every((s) => s.aborted)).toBe(true);
  });

  it("gives up at max_attempts, max_continuations and when a wait would pass the deadline", async () => {
    const again = () => step({ outcome: "truncated", reason: "eof", status: 200 });
    const attempts = harness([again(), again()], { next: "retry", bounds: { maxAttempts: 2 } });
    expect((await drain(attempts.loop)).summary).toBe("failed:max_attempts");
    const conts = harness([again(), again(), again()], { bounds: { maxContinuations: 2 } });
    const c = await drain(conts.loop);
    expect(c.summary).toBe("failed:max_continuations");
    expect(conts.modes).toEqual(["initial", "continuation", "continuation"]);
    const late = harness(
      [step({ outcome: "http_error", reason: "upstream_503", status: 503, waitMs: 60_000 })],
      {
        bounds: { deadlineMs: 30_000 },
      },
    );
    expect(await drain(late.loop)).toEqual({
      events: ["a1", "gave up: deadline"],
      summary: "failed:deadline",
    });
    expect(late.clock.sleeps).toEqual([]);
  });

  it("ends a fatal attempt with its reason", async () => {
    const h = harness([step({ outcome: "http_error", reason: "upstream_400", status: 400, fatal: true })]);
    expect((await drain(h.loop)).summary).toBe("failed:upstream_400");
  });

  it("stops on an aborted client: an aborted summary without the hook, the hook's events with it", async () => {
    const gone = new AbortController();
    gone.abort();
    const bare = harness([], { ctl: gone });
    expect(await drain(bare.loop)).toEqual({ events: [], summary: "aborted:null" });
    expect(bare.modes).toEqual([]);
    const hooked = harness([step({ outcome: "aborted", reason: "client_gone", done: "aborted" })]);
    hooked.loop.aborted = async function* () {
      yield "client left";
      return "aborted-by-hook";
    };
    expect(await drain(hooked.loop)).toEqual({ events: ["a1", "client left"], summary: "aborted-by-hook" });
  });
});

describe("attempt steps", () => {
  it("an interrupted attempt: client gone ends the generation, a rewrite does not", () => {
    expect(interruptedStep("aborted", 4, 2)).toMatchObject({
      outcome: "aborted",
      done: "aborted",
      answerChars: 4,
    });
    expect(interruptedStep("rewrite", 4, 2)).toMatchObject({
      outcome: "rewrite",
      done: null,
      status: 200,
      removedChars: 2,
    });
  });

  it("a 429 waits as asked, the default when not asked, and is fatal past the bound", () => {
    const b = DEFAULT_REPAIR_BOUNDS;
    expect(rateLimitedStep(429, "upstream_429", 3_000, b)).toMatchObject({ waitMs: 3_000, fatal: false });
    expect(rateLimitedStep(429, "upstream_429", null, b)).toMatchObject({
      waitMs: b.rateLimitDefaultDelayMs,
    });
    expect(rateLimitedStep(429, "upstream_429", b.rateLimitMaxDelayMs + 1, b)).toMatchObject({
      reason: "rate_limited_too_long",
      fatal: true,
      waitMs: 0,
    });
  });

  it("a server failure backs off more for each failure in a row, up to the cap", () => {
    const b = DEFAULT_REPAIR_BOUNDS;
    const failure = { status: 503, body: "", contentType: "", reason: "upstream_503" };
    const waits = [1, 2, 3, 10].map((n) => serverRetryStep("http_error", failure, n, b).waitMs);
    expect(waits[0]).toBe(b.serverErrorBaseDelayMs);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
    expect(waits[3]).toBe(b.serverErrorMaxDelayMs);
    expect(serverRetryStep("transport_error", failure, 1, b)).toMatchObject({
      status: 503,
      reason: "upstream_503",
    });
  });
});

describe("streamErrorWaitMs", () => {
  it("waits the rate-limit default on 429, the first backoff on 5xx, nothing otherwise", () => {
    expect(streamErrorWaitMs(429, DEFAULT_REPAIR_BOUNDS)).toBe(DEFAULT_REPAIR_BOUNDS.rateLimitDefaultDelayMs);
    expect(streamErrorWaitMs(503, DEFAULT_REPAIR_BOUNDS)).toBe(DEFAULT_REPAIR_BOUNDS.serverErrorBaseDelayMs);
    expect(streamErrorWaitMs(400, DEFAULT_REPAIR_BOUNDS)).toBe(0);
    expect(streamErrorWaitMs(0, DEFAULT_REPAIR_BOUNDS)).toBe(0);
  });
});

describe("raceTimeout", () => {
  it("aborts the work's controller and throws TIMEOUT when the clock wins", async () => {
    const ctl = new AbortController();
    const clock = manualClock();
    const never = new Promise<Response>(() => {});
    await expect(raceTimeout(never, 100, clock, ctl)).rejects.toBe(TIMEOUT);
    expect(ctl.signal.aborted).toBe(true);
  });

  it("returns the work's value when it wins", async () => {
    const ctl = new AbortController();
    const clock: RepairClock = { now: () => 0, sleep: () => new Promise<boolean>(() => {}) };
    await expect(raceTimeout(Promise.resolve(7), 100, clock, ctl)).resolves.toBe(7);
    expect(ctl.signal.aborted).toBe(false);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { endedWell, SessionClients, sessionClock, sessionEndLog, settleWithin } from "./session-lifecycle";

describe("SessionClients", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("aborts a running generation once no client has been attached for the grace period", () => {
    const clients = new SessionClients(0);
    clients.begin(1_000);
    const detach = clients.attach();
    detach();
    vi.advanceTimersByTime(999);
    expect(clients.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(clients.signal.aborted).toBe(true);
  });

  it("a client attaching within the grace period keeps the generation; detach counts once", () => {
    const clients = new SessionClients(0);
    clients.begin(1_000);
    const first = clients.attach();
    const second = clients.attach();
    first();
    first();
    vi.advanceTimersByTime(5_000);
    expect(clients.signal.aborted).toBe(false);
    second();
    vi.advanceTimersByTime(500);
    const again = clients.attach();
    vi.advanceTimersByTime(5_000);
    expect(clients.signal.aborted).toBe(false);
    again();
    vi.advanceTimersByTime(1_000);
    expect(clients.signal.aborted).toBe(true);
  });

  it("never aborts a generation that has ended", () => {
    const clients = new SessionClients(0);
    clients.begin(1_000);
    const detach = clients.attach();
    detach();
    clients.end();
    expect(clients.running).toBe(false);
    vi.advanceTimersByTime(5_000);
    expect(clients.signal.aborted).toBe(false);
  });
});

describe("settleWithin", () => {
  it("returns once the reports settle, and swallows their failure", async () => {
    await settleWithin(Promise.resolve("ok"), sessionClock);
    await settleWithin(Promise.reject(new Error("counter down")), sessionClock);
  });

  it("gives up after the timeout on reports that never settle", async () => {
    let slept = 0;
    const clock = {
      now: () => 0,
      sleep: async (ms: number) => {
        slept = ms;
        return true;
      },
    };
    await settleWithin(new Promise(() => {}), clock, 2_000);
    expect(slept).toBe(2_000);
  });
});

describe("session end", () => {
  const summary = {
    result: "max_tokens",
    finishReason: "MAX_TOKENS",
    attempts: [
      { mode: "initial", outcome: "cut", reason: "eof" },
      { mode: "continuation", outcome: "complete", reason: "stop" },
    ],
    continuations: 1,
    recovered: true,
    removedChars: 3,
    answerChars: 40,
  };

  it("counts a model-ended generation as completed and anything else as failed", () => {
    expect(["complete", "max_tokens", "blocked"].map((result) => endedWell({ ...summary, result }))).toEqual([
      true,
      true,
      true,
    ]);
    expect(["failed", "aborted", "http_error"].some((result) => endedWell({ ...summary, result }))).toBe(
      false,
    );
  });

  it("logs one line with the attempts' outcomes", () => {
    const line = JSON.parse(
      sessionEndLog(
        "stream_session",
        "abc",
        { endpoint: { name: "primary" }, format: "openai-chat" },
        summary,
      ),
    );
    expect(line).toMatchObject({
      msg: "stream_session",
      session: "abc",
      endpoint: "primary",
      format: "openai-chat",
      attempts: 2,
      outcomes: ["initial:cut:eof", "continuation:complete:stop"],
    });
  });
});

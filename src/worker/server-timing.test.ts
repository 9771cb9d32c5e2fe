import { describe, expect, it } from "vitest";
import { RequestTiming } from "./server-timing";

/** A clock the test moves by hand. */
function manualClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("RequestTiming", () => {
  it("without an upstream call, reports the whole handling as gw-pre and gw-headers", () => {
    const clock = manualClock();
    const timing = new RequestTiming(clock.now);
    clock.advance(3.25);
    expect(timing.headerValue()).toBe("gw-pre;dur=3.25, gw-headers;dur=3.25");
  });

  it("gives the log line the upstream wait, or null when no upstream was called", async () => {
    const clock = manualClock();
    const timing = new RequestTiming(clock.now);
    expect(timing.upstreamMs()).toBeNull();
    clock.advance(1);
    await timing.around(async () => {
      clock.advance(12.345);
    });
    clock.advance(5);
    expect(timing.upstreamMs()).toBe(12.35);
  });

  it("splits the time before the upstream call, the upstream wait and the total", async () => {
    const clock = manualClock();
    const timing = new RequestTiming(clock.now);
    clock.advance(1.5);
    await timing.around(async () => {
      clock.advance(40);
    });
    clock.advance(0.5);
    expect(timing.headerValue()).toBe("gw-pre;dur=1.5, gw-upstream;dur=40, gw-headers;dur=42");
  });

  it("keeps the first start and the last answer across failover attempts, failures included", async () => {
    const clock = manualClock();
    const timing = new RequestTiming(clock.now);
    clock.advance(2);
    await expect(
      timing.around(async () => {
        clock.advance(10);
        throw new Error("connect refused");
      }),
    ).rejects.toThrow("connect refused");
    clock.advance(1);
    await timing.around(async () => {
      clock.advance(20);
    });
    clock.advance(4);
    expect(timing.headerValue()).toBe("gw-pre;dur=2, gw-upstream;dur=31, gw-headers;dur=37");
  });

  it("counts an upstream call still waiting when the head leaves up to that moment", () => {
    const clock = manualClock();
    const timing = new RequestTiming(clock.now);
    timing.upstreamStarted();
    clock.advance(7);
    expect(timing.headerValue()).toBe("gw-pre;dur=0, gw-upstream;dur=7, gw-headers;dur=7");
  });

  it("rounds to two decimals and never reports a negative duration", () => {
    let t = 10;
    const timing = new RequestTiming(() => t);
    t = 9.99;
    expect(timing.headerValue()).toBe("gw-pre;dur=0, gw-headers;dur=0");
    t = 10.123456;
    expect(timing.headerValue()).toBe("gw-pre;dur=0.12, gw-headers;dur=0.12");
  });
});

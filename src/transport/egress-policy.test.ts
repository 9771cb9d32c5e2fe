import { describe, expect, it } from "vitest";
import { BodyRecorder, shouldFallBack } from "./egress-policy";
import {
  BadRequestError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from "./errors";

const fresh = () => ({ wroteRequest: false, receivedResponse: false });
const written = () => ({ wroteRequest: true, receivedResponse: false });

describe("shouldFallBack (DESIGN §6)", () => {
  it("always falls back when nothing was written", () => {
    expect(shouldFallBack(new UpstreamConnectError("refused"), fresh(), false)).toBe(true);
    expect(shouldFallBack(new UpstreamTimeoutError("connect", 10, "before_write"), fresh(), false)).toBe(
      true,
    );
  });

  it("falls back after write only with aggressive fallback", () => {
    const err = new UpstreamResetError("reset", "after_write");
    expect(shouldFallBack(err, written(), false)).toBe(false);
    expect(shouldFallBack(err, written(), true)).toBe(true);
    expect(shouldFallBack(new UpstreamTimeoutError("first_byte", 10, "after_write"), written(), true)).toBe(
      true,
    );
  });

  it("never falls back once response bytes arrived", () => {
    expect(shouldFallBack(new UpstreamProtocolError("bad", "after_response"), written(), true)).toBe(false);
    const attempt = { wroteRequest: true, receivedResponse: true };
    expect(shouldFallBack(new UpstreamResetError("reset", "after_write"), attempt, true)).toBe(false);
  });

  it("never falls back on client errors, foreign errors or a client abort", () => {
    expect(shouldFallBack(new BadRequestError("bad header"), fresh(), true)).toBe(false);
    expect(shouldFallBack(new TypeError("boom"), fresh(), true)).toBe(false);
    const controller = new AbortController();
    controller.abort();
    expect(shouldFallBack(new UpstreamConnectError("x"), fresh(), true, controller.signal)).toBe(false);
  });
});

const enc = new TextEncoder();
function source(parts: string[]) {
  let i = 0;
  let cancelled: unknown = null;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const p = parts[i++];
      if (p === undefined) c.close();
      else c.enqueue(enc.encode(p));
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { stream, cancelled: () => cancelled };
}
const text = (s: ReadableStream<Uint8Array> | null) => new Response(s).text();

describe("BodyRecorder", () => {
  it("passes the body through once", async () => {
    const recorder = new BodyRecorder(source(["a", "b", "c"]).stream, 100);
    expect(await text(recorder.stream())).toBe("abc");
  });

  it("replays an untouched body whole", async () => {
    const recorder = new BodyRecorder(source(["a", "b", "c"]).stream, 1);
    expect(await text(recorder.replay())).toBe("abc");
  });

  it("replays the consumed prefix and then the unread rest, without cancelling the client's stream", async () => {
    const src = source(["one-", "two-", "three-", "four"]);
    const recorder = new BodyRecorder(src.stream, 100);
    const first = recorder.stream().getReader();
    await first.read();
    await first.read();
    await first.cancel("socket failed");
    expect(src.cancelled()).toBeNull();
    expect(await text(recorder.replay())).toBe("one-two-three-four");
  });

  it("keeps a read that was in flight when the replay started, in order", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let n = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        n++;
        if (n === 2) await gate;
        if (n > 3) return c.close();
        c.enqueue(enc.encode(`p${n}`));
      },
    });
    const recorder = new BodyRecorder(slow, 100);
    const first = recorder.stream().getReader();
    await first.read();
    const pending = first.read(); // in flight, blocked on the gate
    const replay = text(recorder.replay());
    release();
    await pending;
    expect(await replay).toBe("p1p2p3");
  });

  it("cannot replay once more than the limit was consumed; release() drops the copy", async () => {
    const recorder = new BodyRecorder(source(["12345", "67890", "x"]).stream, 8);
    const first = recorder.stream().getReader();
    await first.read();
    expect(recorder.replayable).toBe(true);
    await first.read();
    expect(recorder.replayable).toBe(false);
    expect(recorder.replay()).toBeNull();
    const other = new BodyRecorder(source(["a"]).stream, 8);
    other.release();
    expect(other.replay()).toBeNull();
  });
});

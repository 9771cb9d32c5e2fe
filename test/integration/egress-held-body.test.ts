import { describe, expect, inject, it } from "vitest";
import { egress, REPLAY_BUFFER_LIMIT_BYTES } from "../../src/transport/egress";
import { HeldBody } from "../../src/transport/held-body";
import { RawTcpControl, type ReceivedRequest } from "../mocks/rawtcp-protocol";

/**
 * A body the caller holds in memory (`HeldBody`: a Gemini session's request as views into its one copy) through the
 * real transports under workerd: the socket writes the views, a fallback to fetch re-sends the same pieces whatever
 * their size (a streamed body over the replay buffer could not be replayed, see egress-fallback.test.ts), and neither
 * transport detaches or changes the pieces, so the next attempt sends identical bytes.
 */
const mock = new RawTcpControl(inject("mockPorts"));
const timeouts = { connectTimeoutMs: 2_000, firstByteTimeoutMs: 2_000, idleTimeoutMs: 2_000 };
const RESET = { steps: [{ reset: true as const }] };
const ECHO = { steps: [{ echo: true as const }] };
const encoder = new TextEncoder();

/** One large buffer (larger than the replay record could hold) and a held body of views into it plus a new part. */
function largeHeld(): { source: Uint8Array; body: HeldBody; whole: Uint8Array } {
  const size = REPLAY_BUFFER_LIMIT_BYTES + 1024 * 1024 + 7;
  const source = new Uint8Array(size);
  for (let i = 0; i < size; i++) source[i] = 0x61 + (i % 26);
  const cut = 3 * 1024 * 1024 + 5;
  const inserted = encoder.encode(',{"role":"user","parts":[{"text":"go on"}]}');
  const body = new HeldBody([source.subarray(0, cut), inserted, source.subarray(cut)]);
  const whole = new Uint8Array(body.byteLength);
  whole.set(source.subarray(0, cut), 0);
  whole.set(inserted, cut);
  whole.set(source.subarray(cut), cut + inserted.length);
  return { source, body, whole };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const post = (url: string, body: HeldBody) => ({
  method: "POST",
  url,
  headers: new Headers({ "content-type": "application/json" }),
  body,
});

const header = (r: ReceivedRequest, name: string) =>
  r.headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? null;

describe("a held body through the transports", () => {
  it("is replayed whole through fetch after a reset, larger than the replay buffer (count 2)", async () => {
    const { source, body, whole } = largeHeld();
    const sourceSha = await sha256(source);
    const id = await mock.sequence(RESET, ECHO);
    const { response, transport, fallbackReason } = await egress(post(mock.url(id), body), {
      transport: "socket",
      aggressiveFallback: true,
      timeouts,
    });
    expect(transport).toBe("fetch");
    expect(fallbackReason).toBe("upstream_reset");
    const echo = (await response.json()) as ReceivedRequest;
    const received = await mock.received(id);
    expect(received.count).toBe(2);
    expect(echo.bodyLength).toBe(body.byteLength);
    expect(echo.bodySha256).toBe(await sha256(whole));
    // Fixed-length on both transports: the held body's length is known.
    expect(header(echo, "content-length")).toBe(String(body.byteLength));
    expect(header(echo, "transfer-encoding")).toBeNull();
    // Neither transport took or changed the views: the caller's buffer is as it was.
    expect(source.byteLength).toBe(REPLAY_BUFFER_LIMIT_BYTES + 1024 * 1024 + 7);
    expect(await sha256(source)).toBe(sourceSha);
  });

  it("sends the same pieces again on the next attempt, over the socket and over fetch", async () => {
    const { body, whole } = largeHeld();
    const expected = await sha256(whole);
    for (const transport of ["socket", "fetch", "socket"] as const) {
      const id = await mock.script([{ echo: true }]);
      const out = await egress(post(mock.url(id), body), { transport, aggressiveFallback: false, timeouts });
      expect(out.transport).toBe(transport);
      const echo = (await out.response.json()) as ReceivedRequest;
      expect(echo.bodySha256).toBe(expected);
      expect(header(echo, "content-length")).toBe(String(body.byteLength));
    }
  });
});

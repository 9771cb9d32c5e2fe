/**
 * The stream integrity guard's cost per event (issue 12): the same complete chat completions stream
 * (`events` deltas every `gapMs`, then finish and `[DONE]`) through the same socket preset, on a route
 * the guard watches (`POST …/chat/completions` with `"stream": true`) and on one it does not
 * (`POST …/chat/unguarded`), with direct as the reference.
 *
 * Each event carries the time the mock wrote it; its latency is the time it reached the client minus
 * that (both clocks are this machine's epoch clock, read in two processes). The sides run one after
 * another, in a rotating order, so they never compete for the CPU; the figures are medians over rounds
 * of each round's p50 / p99 event latency, and `added_*` is guarded − unguarded. A single-target preset
 * is never held, so the guarded stream's time to first byte is the unguarded one's.
 */
import { keepAliveAgent, postStream } from "./client.mjs";
import { median, percentile, round } from "./stats.mjs";

const BODY = Buffer.from(
  JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
);

const epochMs = () => performance.timeOrigin + performance.now();

/** POSTs a streaming request; resolves with each stamped event's latency and the first byte's time. */
async function postSse(url, agent) {
  const latencies = [];
  let events = 0;
  let ttfb = null;
  let buffer = "";
  const { status, headers } = await postStream(url, BODY, {
    agent,
    onChunk: (chunk, atMs) => {
      const at = epochMs();
      ttfb ??= atMs;
      buffer += chunk;
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        if (!event.startsWith("data:")) continue;
        events++;
        const stamp = /"t":([0-9.]+)/.exec(event);
        if (stamp) latencies.push(at - Number(stamp[1]));
      }
    },
  });
  return { status, latencies, events, ttfb, guard: headers["x-proxy-stream-guard"] ?? null };
}

/** `urls`: `{ direct, unguarded, guarded }`, each the full URL without the query. */
export async function streamGuardCost(urls, { rounds, events, gapMs }) {
  const names = Object.keys(urls);
  const agents = Object.fromEntries(names.map((n) => [n, keepAliveAgent(1)]));
  const per = Object.fromEntries(names.map((n) => [n, { p50: [], p99: [], ttfb: [] }]));
  let missing = 0;
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const n of order) {
      const res = await postSse(`${urls[n]}?n=${events}&gapMs=${gapMs}`, agents[n]);
      if (res.status !== 200) throw new Error(`stream guard bench: ${n} answered ${res.status}`);
      if ((n === "guarded") !== (res.guard === "openai-chat")) {
        throw new Error(`stream guard bench: ${n} was ${res.guard ? "" : "not "}guarded`);
      }
      // `events` deltas, the finish chunk and [DONE].
      missing += events + 2 - res.events;
      per[n].p50.push(percentile(res.latencies, 50));
      per[n].p99.push(percentile(res.latencies, 99));
      per[n].ttfb.push(res.ttfb);
    }
  }
  for (const agent of Object.values(agents)) agent.destroy();
  const side = (n) => ({
    event_latency_p50_ms: round(median(per[n].p50), 3),
    event_latency_p99_ms: round(median(per[n].p99), 3),
    ttfb_ms: round(median(per[n].ttfb), 3),
  });
  const sides = Object.fromEntries(names.map((n) => [n, side(n)]));
  return {
    events,
    gap_ms: gapMs,
    rounds,
    sides,
    added_per_event_ms_p50: round(
      sides.guarded.event_latency_p50_ms - sides.unguarded.event_latency_p50_ms,
      3,
    ),
    added_per_event_ms_p99: round(
      sides.guarded.event_latency_p99_ms - sides.unguarded.event_latency_p99_ms,
      3,
    ),
    added_ttfb_ms: round(sides.guarded.ttfb_ms - sides.unguarded.ttfb_ms, 3),
    missing_events: missing,
  };
}

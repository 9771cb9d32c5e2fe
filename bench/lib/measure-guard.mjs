/**
 * The stream integrity guard's cost per event (issue 12): the same complete chat completions stream
 * (`events` deltas every `gapMs`, then finish and `[DONE]`) through the same socket preset, on a route
 * the guard watches (`POST …/chat/completions` with `"stream": true`) and on one it does not
 * (`POST …/chat/unguarded`), with direct as the reference. The sides of a round stream at the same time.
 *
 * Per event, the arrival time at the client (from the request's start) is compared between the guarded
 * and the unguarded stream of the same round: `added_per_event_ms` is the median over rounds of the
 * p50 (and p99) of those per-event differences. A single-target preset is never held, so the first
 * event's difference is the guard's added time to first byte.
 */
import { request as httpRequest } from "node:http";
import { keepAliveAgent } from "./client.mjs";
import { median, nowMs, percentile, round } from "./stats.mjs";

const BODY = Buffer.from(
  JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
);

/** POSTs a streaming request; resolves with the arrival time of each `data:` event. */
function postSse(url, agent) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const req = httpRequest(
      url,
      {
        agent,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": BODY.length },
      },
      (res) => {
        const arrivals = [];
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          const at = nowMs() - started;
          buffer += chunk;
          let cut = buffer.indexOf("\n\n");
          while (cut >= 0) {
            if (buffer.startsWith("data:")) arrivals.push(at);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf("\n\n");
          }
        });
        res.on("end", () =>
          resolve({ status: res.statusCode, arrivals, guard: res.headers["x-proxy-stream-guard"] ?? null }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

/** `urls`: `{ direct, unguarded, guarded }`, each the full URL without the query. */
export async function streamGuardCost(urls, { rounds, events, gapMs }) {
  const names = Object.keys(urls);
  const agents = Object.fromEntries(names.map((n) => [n, keepAliveAgent(1)]));
  const diffs50 = [];
  const diffs99 = [];
  const ttfb = Object.fromEntries(names.map((n) => [n, []]));
  let missing = 0;
  for (let r = 0; r < rounds; r++) {
    const results = await Promise.all(
      names.map((n) => postSse(`${urls[n]}?n=${events}&gapMs=${gapMs}`, agents[n])),
    );
    const byName = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    for (const n of names) {
      if (byName[n].status !== 200) throw new Error(`stream guard bench: ${n} answered ${byName[n].status}`);
      // `events` deltas, the finish chunk and [DONE].
      missing += events + 2 - byName[n].arrivals.length;
      ttfb[n].push(byName[n].arrivals[0]);
    }
    if (byName.guarded.guard !== "openai-chat" || byName.unguarded.guard !== null) {
      throw new Error("stream guard bench: the guarded side must be guarded and the other not");
    }
    const g = byName.guarded.arrivals;
    const u = byName.unguarded.arrivals;
    const perEvent = g.slice(0, Math.min(g.length, u.length)).map((t, i) => t - u[i]);
    diffs50.push(percentile(perEvent, 50));
    diffs99.push(percentile(perEvent, 99));
  }
  for (const agent of Object.values(agents)) agent.destroy();
  return {
    events,
    gap_ms: gapMs,
    rounds,
    ttfb_ms: Object.fromEntries(names.map((n) => [n, round(median(ttfb[n]), 3)])),
    added_ttfb_ms: round(median(ttfb.guarded) - median(ttfb.unguarded), 3),
    added_per_event_ms_p50: round(median(diffs50), 3),
    added_per_event_ms_p99: round(median(diffs99), 3),
    missing_events: missing,
  };
}

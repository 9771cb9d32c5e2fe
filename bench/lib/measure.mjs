/**
 * The HTTP measurements of the bench. Every one interleaves the sides (direct, floor, gateway routes)
 * round by round, rotating their order, and reports the median of the per-round statistics, so slow
 * drift of the machine (other processes, CPU frequency) hits every side alike.
 */
import { closedLoop, keepAliveAgent, sseArrivals, timedRequest } from "./client.mjs";
import { cpuMs } from "./cpu.mjs";
import { median, percentile, round } from "./stats.mjs";

/** Rotates a list by `k` (round k starts with a different side). */
const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);

/**
 * The small JSON request of the latency and throughput figures: an OpenAI-style chat completion with a
 * small body, answered by the mock's small completion (`POST /json/chat/completions`, bench-mocks.mjs).
 * Every side sends the same method, body and headers; only the URL (and a routing header) differs.
 */
export const SMALL_JSON_PATH = "/json/chat/completions";
const SMALL_JSON_BODY = Buffer.from(
  JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say ok." }] }),
);
const SMALL_JSON_HEADERS = { "content-type": "application/json", authorization: "Bearer sk-bench" };

/**
 * A side is a base URL (the request goes to `base + SMALL_JSON_PATH`) or `{ url, headers }`: a full URL
 * and extra headers (how the Portkey side is addressed: its own path and routing headers).
 */
export function smallJsonRequest(side) {
  const [url, extra] =
    typeof side === "string" ? [`${side}${SMALL_JSON_PATH}`, {}] : [side.url, side.headers ?? {}];
  return {
    url,
    request: { method: "POST", headers: { ...SMALL_JSON_HEADERS, ...extra }, body: SMALL_JSON_BODY },
  };
}

/**
 * Whether a response is the mock's small completion, passed through: a side that answered quickly with
 * an error (or its own body) must never count as fast.
 */
export const isMockAnswer = (res) =>
  res.status === 200 && res.text.includes('"id":"chatcmpl-bench"') && res.text.includes('"content":"ok"');

/** One small JSON request to `side`: null when it came back as the mock's answer, else what came back. */
export async function checkSmallJson(side) {
  const { url, request } = smallJsonRequest(side);
  try {
    const res = await timedRequest(url, request);
    return isMockAnswer(res) ? null : `answered ${res.status}: ${res.text.slice(0, 200)}`;
  } catch (error) {
    return `request failed: ${error.message}`;
  }
}

function ensureMockAnswer(res, side, what) {
  if (!isMockAnswer(res)) {
    throw new Error(
      `${what}: ${side} did not pass the mock's answer through (${res.status}): ${res.text.slice(0, 300)}`,
    );
  }
}

function ensureOk(res, side, what) {
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${what}: ${side} answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
}

/**
 * Added latency at concurrency 1 (sequential keep-alive client) for the small JSON request. `sides` maps
 * a name to a side (see `smallJsonRequest`); `direct` must be one of them. Returns per side p50/p99
 * (median of round values) and the added p50/p99 against direct.
 */
export async function latency(sides, { rounds, perRound, warmup }) {
  const names = Object.keys(sides);
  const agents = Object.fromEntries(names.map((n) => [n, keepAliveAgent(1)]));
  const requests = Object.fromEntries(names.map((n) => [n, smallJsonRequest(sides[n])]));
  const once = (name) => timedRequest(requests[name].url, { agent: agents[name], ...requests[name].request });
  for (const name of names) {
    for (let i = 0; i < warmup; i++) ensureMockAnswer(await once(name), name, "latency warm-up");
  }
  const perSide = Object.fromEntries(names.map((n) => [n, { p50: [], p99: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const name of rotate(names, r)) {
      const times = [];
      for (let i = 0; i < perRound; i++) {
        const res = await once(name);
        ensureMockAnswer(res, name, "latency");
        times.push(res.ms);
      }
      perSide[name].p50.push(percentile(times, 50));
      perSide[name].p99.push(percentile(times, 99));
    }
  }
  for (const agent of Object.values(agents)) agent.destroy();
  const out = {};
  const d50 = median(perSide.direct.p50);
  const d99 = median(perSide.direct.p99);
  const floorAdded50 = perSide.floor ? median(perSide.floor.p50) - d50 : null;
  const floorAdded99 = perSide.floor ? median(perSide.floor.p99) - d99 : null;
  // The socket floor (bench/lib/workerd.mjs): the least a Worker does to send the request over connect().
  const socketFloorAdded50 = perSide.socket_floor ? median(perSide.socket_floor.p50) - d50 : null;
  for (const name of names) {
    const p50 = median(perSide[name].p50);
    const p99 = median(perSide[name].p99);
    out[name] = {
      p50_ms: round(p50, 3),
      p99_ms: round(p99, 3),
      added_p50_ms: round(p50 - d50, 3),
      added_p99_ms: round(p99 - d99, 3),
      // What this side adds over direct, in units of what the bare Worker adds (1 = the floor itself).
      added_p50_vs_floor: floorAdded50 > 0 && name !== "direct" ? round((p50 - d50) / floorAdded50, 2) : null,
      added_p99_vs_floor: floorAdded99 > 0 && name !== "direct" ? round((p99 - d99) / floorAdded99, 2) : null,
      added_p50_vs_socket_floor:
        socketFloorAdded50 > 0 && name !== "direct" ? round((p50 - d50) / socketFloorAdded50, 2) : null,
    };
  }
  return out;
}

/**
 * Requests per second of the small JSON request at each concurrency (closed loop, keep-alive; only
 * answers that are the mock's count), the ratio to direct and to the floor, and the serving process's CPU
 * time per completed request over each side's window (`/proc/<pid>/stat`; only one side runs at a time,
 * so the window's CPU is that side's, Durable Objects included). The serving process is workerd unless
 * `cpuPids` names another one for a side (Portkey's Node server).
 */
export async function throughput(sides, { concurrencies, rounds, durationMs, workerdPid, cpuPids = {} }) {
  const names = Object.keys(sides);
  const requests = Object.fromEntries(names.map((n) => [n, smallJsonRequest(sides[n])]));
  const pidOf = (name) => cpuPids[name] ?? workerdPid;
  const out = {};
  for (const concurrency of concurrencies) {
    const perSide = Object.fromEntries(names.map((n) => [n, []]));
    const cpu = Object.fromEntries(names.map((n) => [n, { ms: 0, requests: 0 }]));
    const failures = Object.fromEntries(names.map((n) => [n, 0]));
    for (let r = 0; r < rounds; r++) {
      for (const name of rotate(names, r)) {
        const agent = keepAliveAgent(concurrency);
        const cpuBefore = cpuMs(pidOf(name));
        const result = await closedLoop(requests[name].url, {
          concurrency,
          durationMs,
          agent,
          request: requests[name].request,
          isAnswer: isMockAnswer,
        });
        const cpuAfter = cpuMs(pidOf(name));
        agent.destroy();
        perSide[name].push(result.rps);
        failures[name] += result.failed;
        if (cpuBefore !== null && cpuAfter !== null) {
          cpu[name].ms += cpuAfter - cpuBefore;
          cpu[name].requests += result.done;
        }
      }
    }
    const direct = median(perSide.direct);
    const floor = perSide.floor ? median(perSide.floor) : null;
    const socketFloor = perSide.socket_floor ? median(perSide.socket_floor) : null;
    out[`c${concurrency}`] = Object.fromEntries(
      names.map((n) => [
        n,
        {
          rps: round(median(perSide[n]), 0),
          ratio: round(median(perSide[n]) / direct, 3),
          ratio_to_floor: floor ? round(median(perSide[n]) / floor, 3) : null,
          ratio_to_socket_floor: socketFloor ? round(median(perSide[n]) / socketFloor, 3) : null,
          // Direct requests never touch workerd: its CPU there is idle noise, not a cost.
          cpu_ms_per_request:
            n === "direct" || cpu[n].requests === 0 ? null : round(cpu[n].ms / cpu[n].requests, 4),
          cpu_process: n === "direct" ? null : cpuPids[n] ? n : "workerd",
          failed: failures[n],
        },
      ]),
    );
  }
  return out;
}

/**
 * SSE: `events` deltas every `gapMs`. The sides of a round stream at the same time (the streams are
 * mostly idle, so they do not disturb each other). Added TTFB is the first event's arrival, added gap
 * the p50 and p99 of the inter-event gaps, each against direct.
 */
export async function streaming(sides, { rounds, events, gapMs }) {
  const names = Object.keys(sides);
  const perSide = Object.fromEntries(names.map((n) => [n, { ttfb: [], gap50: [], gap99: [], missing: 0 }]));
  for (let r = 0; r < rounds; r++) {
    const results = await Promise.all(
      names.map((n) =>
        sseArrivals(`${sides[n]}/sse?n=${events}&gapMs=${gapMs}`, { agent: keepAliveAgent(1) }),
      ),
    );
    results.forEach((res, i) => {
      const name = names[i];
      if (res.status !== 200) throw new Error(`SSE: ${name} answered ${res.status}`);
      // `events` deltas and the closing [DONE].
      perSide[name].missing += events + 1 - res.arrivals.length;
      const gaps = res.arrivals.slice(1, events).map((t, k) => t - res.arrivals[k]);
      perSide[name].ttfb.push(res.arrivals[0]);
      perSide[name].gap50.push(percentile(gaps, 50));
      perSide[name].gap99.push(percentile(gaps, 99));
    });
  }
  const d = perSide.direct;
  return Object.fromEntries(
    names.map((n) => {
      const s = perSide[n];
      return [
        n,
        {
          ttfb_ms: round(median(s.ttfb), 3),
          added_ttfb_ms: round(median(s.ttfb) - median(d.ttfb), 3),
          gap_p50_ms: round(median(s.gap50), 3),
          added_gap_p50_ms: round(median(s.gap50) - median(d.gap50), 3),
          gap_p99_ms: round(median(s.gap99), 3),
          added_gap_p99_ms: round(median(s.gap99) - median(d.gap99), 3),
          missing_events: s.missing,
        },
      ];
    }),
  );
}

/**
 * A large body each way: upload (`POST /sink`, streamed request body) and download (`GET /blob`).
 * MB/s per side and the ratio to direct; the gateway's peak RSS is sampled while its transfers run.
 */
export async function largeBodies(sides, { rounds, bytes, rss, gatewaySide }) {
  const names = Object.keys(sides);
  const out = { bytes, upload: {}, download: {} };
  const baselineRss = rss.peak();
  let peakRss = baselineRss;
  for (const direction of ["upload", "download"]) {
    const perSide = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const name of rotate(names, r)) {
        if (name === gatewaySide) rss.reset();
        const agent = keepAliveAgent(1);
        const res =
          direction === "upload"
            ? await timedRequest(`${sides[name]}/sink`, { agent, method: "POST", body: { bytes } })
            : await timedRequest(`${sides[name]}/blob?bytes=${bytes}`, { agent });
        agent.destroy();
        ensureOk(res, name, direction);
        const received = direction === "upload" ? JSON.parse(res.text).bytes : res.bytes;
        if (received !== bytes) throw new Error(`${direction}: ${name} moved ${received} of ${bytes} bytes`);
        perSide[name].push(bytes / 1e6 / (res.ms / 1000));
        if (name === gatewaySide) peakRss = Math.max(peakRss, rss.peak());
      }
    }
    const direct = median(perSide.direct);
    out[direction] = Object.fromEntries(
      names.map((n) => [
        n,
        { mb_per_s: round(median(perSide[n]), 1), ratio: round(median(perSide[n]) / direct, 3) },
      ]),
    );
  }
  out.workerd_rss_before_mb = round(baselineRss / 1e6, 1);
  out.workerd_rss_peak_mb = round(peakRss / 1e6, 1);
  return out;
}

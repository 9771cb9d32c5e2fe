/**
 * `node bench/scale-sim.mjs [--quick]`: plays N isolates' health syncs against the gateway's real
 * `TargetHealth` object under plain `workerd serve` (issue 13 item 5) and reports, per N, the sync rate
 * the object sustained and the sync latency, then the object's closed-loop ceiling. A driver Worker in
 * the same workerd (`bench/scale/driver.ts`) binds the gateway's class and sends the syncs, so the
 * figures include the caller's own RPC work on the same cores: the object's capacity in production,
 * where it has a thread of its own, is at least this.
 *
 * The closed loops run three ways in one run: syncs with outcomes as the object ships (routine
 * statistics written behind, at most once a second), the same with every change written at once
 * (`writeThrough`, the behaviour before), and read-only syncs. The sharded loops spread callers over
 * S regional shards of one endpoint at once (`<endpoint>#<region>`), all in this one workerd process.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { cpuMs } from "./lib/cpu.mjs";
import { table } from "./lib/report.mjs";
import { REPORT_BATCH_DELAY_MS } from "./lib/scale-constants.mjs";
import { REPO_DIR, startWorkerd } from "./lib/workerd.mjs";

const quick = process.argv.includes("--quick");
const DURATION_MS = quick ? 2000 : 5000;
/** Outcomes per sync: a busy isolate (about 40 requests/s) batches about this many per 250 ms. */
const OUTCOMES_PER_SYNC = 10;
const ISOLATE_STEPS = quick ? [10, 100, 400] : [10, 50, 100, 200, 400, 800, 1600];
const CLOSED_STEPS = quick ? [1, 16] : [1, 4, 16, 64];
/** Regional shards played at once (7: Cloudflare's continents), sharing `SHARD_CALLERS` back-to-back callers. */
const SHARD_STEPS = quick ? [1, 4] : [1, 2, 4, 7];
const SHARD_CALLERS = 56;
/** How the closed loops write: as shipped (write-behind), everything at once (before), or read only. */
const CLOSED_MODES = [
  { mode: "write_behind", outcomes: OUTCOMES_PER_SYNC, writeThrough: false },
  { mode: "write_through", outcomes: OUTCOMES_PER_SYNC, writeThrough: true },
  { mode: "read_only", outcomes: 0, writeThrough: false },
];
/** Round trips from an isolate to the object to weigh the model with: same metro, same continent, across an ocean. */
const MODEL_RTTS_MS = [10, 80, 200];

const log = (line) => process.stderr.write(`scale-sim: ${line}\n`);

async function bundleDriver(dir) {
  const outfile = join(dir, "driver.js");
  await build({
    entryPoints: [join(REPO_DIR, "bench/scale/driver.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile,
    external: ["cloudflare:*"],
    logLevel: "silent",
  });
  return outfile;
}

async function get(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const r1 = (v) => (v === null || v === undefined ? "–" : (Math.round(v * 10) / 10).toFixed(1));

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "gateway-scale-sim-"));
  const driverPath = await bundleDriver(dir);
  log("building the Worker bundle and starting workerd serve with the driver");
  const workerd = await startWorkerd({ vars: { ENDPOINTS: "{}" }, driverPath });
  const base = workerd.driverUrl;
  const results = {
    outcomes_per_sync: OUTCOMES_PER_SYNC,
    duration_ms: DURATION_MS,
    load_average_before: loadavg().map((v) => Math.round(v * 100) / 100),
    open: [],
    closed: [],
    sharded: [],
  };
  try {
    // Warm the object (creation, SQLite tables) before measuring.
    await get(`${base}/closed?concurrency=1&durationMs=300&endpoint=warm`);
    for (const n of ISOLATE_STEPS) {
      const endpoint = `open-${n}`;
      const cpuBefore = cpuMs(workerd.pid);
      const r = await get(
        `${base}/open?isolates=${n}&durationMs=${DURATION_MS}&cycleMs=${REPORT_BATCH_DELAY_MS}&outcomes=${OUTCOMES_PER_SYNC}&endpoint=${endpoint}`,
      );
      const cpu = cpuMs(workerd.pid) - cpuBefore;
      const latencyP50 = r.latency_ms.p50 ?? 0;
      // What N isolates would send at the latency they saw: one sync per batching delay + round trip each.
      const offered = (n * 1000) / (REPORT_BATCH_DELAY_MS + latencyP50);
      results.open.push({
        isolates: n,
        offered_syncs_per_s: offered,
        ...r,
        workerd_cpu_ms_per_sync: cpu / r.syncs,
      });
      log(
        `${n} isolates: ${r1(r.syncs_per_s)} syncs/s of ${r1(offered)} offered, latency p50 ${latencyP50} ms p99 ${r.latency_ms.p99} ms, errors ${r.errors}`,
      );
    }
    // Written behind, a sync with routine outcomes writes nothing (a flush a second does); written through,
    // every one writes the changed records to SQLite; read only, none: the gaps are what the writes cost.
    // Modes alternate within each step, so a change of the machine's load hits all three alike.
    for (const c of CLOSED_STEPS) {
      for (const { mode, outcomes: k, writeThrough } of CLOSED_MODES) {
        const cpuBefore = cpuMs(workerd.pid);
        const r = await get(
          `${base}/closed?concurrency=${c}&durationMs=${DURATION_MS}&outcomes=${k}&writeThrough=${writeThrough ? 1 : 0}&endpoint=closed-${mode}-${c}`,
        );
        const cpu = cpuMs(workerd.pid) - cpuBefore;
        results.closed.push({
          mode,
          concurrency: c,
          outcomes: k,
          ...r,
          workerd_cpu_ms_per_sync: cpu / r.syncs,
        });
        log(
          `closed loop ${mode} c=${c}: ${r1(r.syncs_per_s)} syncs/s, latency p50 ${r.latency_ms.p50} ms p99 ${r.latency_ms.p99} ms`,
        );
      }
    }
    // The same callers spread over more shards: what splitting one endpoint's object buys in one process.
    for (const { mode, writeThrough } of CLOSED_MODES.filter((m) => m.outcomes > 0)) {
      for (const shards of SHARD_STEPS) {
        const perShard = Math.round(SHARD_CALLERS / shards);
        const cpuBefore = cpuMs(workerd.pid);
        const r = await get(
          `${base}/sharded?shards=${shards}&concurrency=${perShard}&durationMs=${DURATION_MS}&outcomes=${OUTCOMES_PER_SYNC}&writeThrough=${writeThrough ? 1 : 0}&endpoint=sharded-${mode}-${shards}`,
        );
        const cpu = cpuMs(workerd.pid) - cpuBefore;
        results.sharded.push({
          mode,
          ...r,
          per_shard_syncs_per_s: r.syncs_per_s / shards,
          workerd_cpu_ms_per_sync: cpu / r.syncs,
        });
        log(
          `${mode}, ${shards} shards × ${perShard} callers: ${r1(r.syncs_per_s)} syncs/s (${r1(r.syncs_per_s / shards)} per shard), p50 ${r.latency_ms.p50} ms p99 ${r.latency_ms.p99} ms`,
        );
      }
    }
    const best = (mode) =>
      Math.max(...results.closed.filter((c) => c.mode === mode).map((c) => c.syncs_per_s));
    const ceiling = best("write_behind");
    results.ceiling_syncs_per_s = ceiling;
    results.write_through_ceiling_syncs_per_s = best("write_through");
    results.read_only_ceiling_syncs_per_s = best("read_only");
    results.model = MODEL_RTTS_MS.map((rtt) => {
      const perIsolate = 1000 / (REPORT_BATCH_DELAY_MS + rtt);
      return {
        rtt_ms: rtt,
        busy_isolate_syncs_per_s: perIsolate,
        isolates_at_ceiling: ceiling / perIsolate,
        isolates_at_write_through_ceiling: results.write_through_ceiling_syncs_per_s / perIsolate,
      };
    });
    results.load_average_after = loadavg().map((v) => Math.round(v * 100) / 100);
  } finally {
    await workerd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const out = join(REPO_DIR, quick ? "bench/out" : "bench", "scale-results.json");
  if (quick) mkdirSync(join(REPO_DIR, "bench/out"), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    `Open loop: N isolates, one sync of ${OUTCOMES_PER_SYNC} outcomes every ${REPORT_BATCH_DELAY_MS} ms + its round trip`,
    table(
      ["isolates", "offered/s", "achieved/s", "p50 ms", "p99 ms", "CPU ms/sync", "errors"],
      results.open.map((o) => [
        o.isolates,
        r1(o.offered_syncs_per_s),
        r1(o.syncs_per_s),
        o.latency_ms.p50,
        o.latency_ms.p99,
        r1(o.workerd_cpu_ms_per_sync),
        o.errors,
      ]),
    ),
    "",
    "Closed loop (the object's ceiling): callers back to back",
    table(
      ["mode", "callers", "outcomes", "syncs/s", "p50 ms", "p99 ms", "CPU ms/sync"],
      [...results.closed]
        .sort((a, b) => a.mode.localeCompare(b.mode) || a.concurrency - b.concurrency)
        .map((c) => [
          c.mode,
          c.concurrency,
          c.outcomes,
          r1(c.syncs_per_s),
          c.latency_ms.p50,
          c.latency_ms.p99,
          r1(c.workerd_cpu_ms_per_sync),
        ]),
    ),
    "",
    `${SHARD_CALLERS} callers spread over S regional shards, ${OUTCOMES_PER_SYNC} outcomes per sync (one workerd process)`,
    table(
      ["mode", "shards", "syncs/s", "per shard", "p50 ms", "p99 ms", "CPU ms/sync"],
      results.sharded.map((s) => [
        s.mode,
        s.shards,
        r1(s.syncs_per_s),
        r1(s.per_shard_syncs_per_s),
        s.latency_ms.p50,
        s.latency_ms.p99,
        r1(s.workerd_cpu_ms_per_sync),
      ]),
    ),
    "",
    `Model: a busy isolate sends one sync per ${REPORT_BATCH_DELAY_MS} ms + round trip; one object (ceiling ${r1(results.ceiling_syncs_per_s)} syncs/s written behind, ${r1(results.write_through_ceiling_syncs_per_s)} written through) saturates at`,
    ...results.model.map(
      (m) =>
        `  RTT ${m.rtt_ms} ms: ${r1(m.busy_isolate_syncs_per_s)} syncs/s per busy isolate → ${Math.round(m.isolates_at_ceiling)} busy isolates per shard (${Math.round(m.isolates_at_write_through_ceiling)} written through)`,
    ),
    `Load average before ${results.load_average_before.join(" ")}, after ${results.load_average_after.join(" ")}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  log(`wrote ${out}`);
}

await main();

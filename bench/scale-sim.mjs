/**
 * `node bench/scale-sim.mjs [--quick]`: plays N isolates' health syncs against the gateway's real
 * `TargetHealth` object under plain `workerd serve` (issue 13 item 5) and reports, per N, the sync rate
 * the object sustained and the sync latency, then the object's closed-loop ceiling. A driver Worker in
 * the same workerd (`bench/scale/driver.ts`) binds the gateway's class and sends the syncs, so the
 * figures include the caller's own RPC work on the same cores: the object's capacity in production,
 * where it has a thread of its own, is at least this.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { cpuMs } from "./lib/cpu.mjs";
import { REPORT_BATCH_DELAY_MS } from "./lib/scale-constants.mjs";
import { REPO_DIR, startWorkerd } from "./lib/workerd.mjs";

const quick = process.argv.includes("--quick");
const DURATION_MS = quick ? 2000 : 5000;
/** Outcomes per sync: a busy isolate (about 40 requests/s) batches about this many per 250 ms. */
const OUTCOMES_PER_SYNC = 10;
const ISOLATE_STEPS = quick ? [10, 100, 400] : [10, 50, 100, 200, 400, 800, 1600];
const CLOSED_STEPS = quick ? [1, 16] : [1, 4, 16, 64];
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
  const results = { outcomes_per_sync: OUTCOMES_PER_SYNC, duration_ms: DURATION_MS, open: [], closed: [] };
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
    // With outcomes every sync writes the changed records to SQLite; without, it only reads: the gap is
    // what the per-sync durable write costs.
    for (const k of [OUTCOMES_PER_SYNC, 0]) {
      for (const c of CLOSED_STEPS) {
        const cpuBefore = cpuMs(workerd.pid);
        const r = await get(
          `${base}/closed?concurrency=${c}&durationMs=${DURATION_MS}&outcomes=${k}&endpoint=closed-${k}-${c}`,
        );
        const cpu = cpuMs(workerd.pid) - cpuBefore;
        results.closed.push({ concurrency: c, outcomes: k, ...r, workerd_cpu_ms_per_sync: cpu / r.syncs });
        log(
          `closed loop c=${c}, ${k} outcomes: ${r1(r.syncs_per_s)} syncs/s, latency p50 ${r.latency_ms.p50} ms p99 ${r.latency_ms.p99} ms`,
        );
      }
    }
    const ceiling = Math.max(...results.closed.filter((c) => c.outcomes > 0).map((c) => c.syncs_per_s));
    results.ceiling_syncs_per_s = ceiling;
    results.model = MODEL_RTTS_MS.map((rtt) => {
      const perIsolate = 1000 / (REPORT_BATCH_DELAY_MS + rtt);
      return { rtt_ms: rtt, busy_isolate_syncs_per_s: perIsolate, isolates_at_ceiling: ceiling / perIsolate };
    });
  } finally {
    await workerd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const out = join(REPO_DIR, quick ? "bench/out" : "bench", "scale-results.json");
  if (quick) (await import("node:fs")).mkdirSync(join(REPO_DIR, "bench/out"), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    `Open loop: N isolates, one sync of ${OUTCOMES_PER_SYNC} outcomes every ${REPORT_BATCH_DELAY_MS} ms + its round trip`,
    "isolates  offered/s  achieved/s  p50 ms  p99 ms  CPU ms/sync  errors",
    ...results.open.map((o) =>
      [
        String(o.isolates).padStart(8),
        r1(o.offered_syncs_per_s).padStart(9),
        r1(o.syncs_per_s).padStart(10),
        String(o.latency_ms.p50).padStart(6),
        String(o.latency_ms.p99).padStart(6),
        r1(o.workerd_cpu_ms_per_sync).padStart(11),
        String(o.errors).padStart(6),
      ].join("  "),
    ),
    "",
    "Closed loop (the object's ceiling): callers back to back",
    "callers  outcomes  syncs/s  p50 ms  p99 ms  CPU ms/sync",
    ...results.closed.map((c) =>
      [
        String(c.concurrency).padStart(7),
        String(c.outcomes).padStart(8),
        r1(c.syncs_per_s).padStart(7),
        String(c.latency_ms.p50).padStart(6),
        String(c.latency_ms.p99).padStart(6),
        r1(c.workerd_cpu_ms_per_sync).padStart(11),
      ].join("  "),
    ),
    "",
    `Model: a busy isolate sends one sync per ${REPORT_BATCH_DELAY_MS} ms + round trip; one object (ceiling ${r1(results.ceiling_syncs_per_s)} syncs/s here) saturates at`,
    ...results.model.map(
      (m) =>
        `  RTT ${m.rtt_ms} ms: ${r1(m.busy_isolate_syncs_per_s)} syncs/s per busy isolate → ${Math.round(m.isolates_at_ceiling)} busy isolates`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  log(`wrote ${out}`);
}

await main();

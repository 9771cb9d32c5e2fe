/**
 * `npm run bench [-- --quick] [-- --no-portkey]`: measures what the gateway adds on top of talking to the
 * upstream directly, under plain `workerd serve` (DESIGN §9), with a bare pass-through Worker in the same
 * workerd as the floor, and the Portkey gateway (Node, installed on demand into .tmp/portkey) beside them
 * for the small JSON figures. Prints a table, writes bench/results.json and bench/chart.svg (`--quick`:
 * fewer rounds, written to the git-ignored bench/out/ instead).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderChart } from "./chart.mjs";
import { startGeminiMock } from "./lib/gemini-mock.mjs";
import { portkeyComparison } from "./lib/goals.mjs";
import { machineInfo } from "./lib/machine.mjs";
import { checkSmallJson, largeBodies, latency, streaming, throughput } from "./lib/measure.mjs";
import { geminiFirstEvent, protectedMemory } from "./lib/measure-gemini.mjs";
import { streamGuardCost } from "./lib/measure-guard.mjs";
import { geminiRepair, webSocketRoundTrip } from "./lib/measure-sessions.mjs";
import { startMockProcess } from "./lib/mock-process.mjs";
import { ensurePortkey, PORTKEY_VERSION, startPortkey } from "./lib/portkey.mjs";
import { formatTable } from "./lib/report.mjs";
import { nowMs } from "./lib/stats.mjs";
import { REPO_DIR, rssBytes, rssSampler, startWorkerd } from "./lib/workerd.mjs";

const AUTH_TOKEN = "bench-token";
const quick = process.argv.includes("--quick");
const withPortkey = !process.argv.includes("--no-portkey");
const PLAN = quick
  ? {
      latency: { rounds: 3, perRound: 40, warmup: 20 },
      throughput: { rounds: 1, durationMs: 600 },
      sse: 2,
      guard: { rounds: 4, events: 64, gapMs: 5 },
      body: 1,
      bodyBytes: 8 * 1024 * 1024,
      gemini: 2,
      firstEvent: { rounds: 2, perRound: 5 },
      // A smoke test of the memory figure: the goal's 24 MiB body only in the full run.
      memory: { rounds: 1, concurrency: 16, largeBytes: 8 * 1024 * 1024 },
      ws: { rounds: 2, perRound: 100 },
    }
  : {
      latency: { rounds: 10, perRound: 100, warmup: 100 },
      throughput: { rounds: 3, durationMs: 2500 },
      sse: 5,
      guard: { rounds: 20, events: 128, gapMs: 5 },
      body: 3,
      bodyBytes: 50 * 1024 * 1024,
      gemini: 6,
      firstEvent: { rounds: 6, perRound: 10 },
      memory: { rounds: 3, concurrency: 32, largeBytes: 24 * 1024 * 1024 },
      ws: { rounds: 6, perRound: 200 },
    };

const benchStart = nowMs();
// Each step with the seconds since the start, so a slow step (or a slow machine) shows.
const log = (line) =>
  process.stderr.write(`bench: [${((nowMs() - benchStart) / 1000).toFixed(1)} s] ${line}\n`);

/**
 * Installs (once) and starts the Portkey side, pointed at the mock, and checks that a request through it
 * comes back as the mock's answer. Resolves `{ portkey }` or `{ skipped }` with the reason.
 */
async function portkeySide(direct) {
  if (!withPortkey) return { skipped: "--no-portkey" };
  const install = await ensurePortkey(log);
  if (!install.ok) return { skipped: install.reason };
  log(`starting the Portkey gateway ${PORTKEY_VERSION} (Node) against the mock`);
  let portkey;
  try {
    portkey = await startPortkey({ upstreamBase: `${direct}/json` });
  } catch (error) {
    return { skipped: `Portkey did not start: ${error.message.slice(0, 300)}` };
  }
  const wrong = await checkSmallJson(portkey.side);
  if (wrong) {
    await portkey.stop();
    return { skipped: `Portkey did not pass the mock's answer through: ${wrong}` };
  }
  return { portkey };
}

async function main() {
  const started = nowMs();
  const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/bench-mocks.mjs"), "startBenchMocks");
  const gemini = await startGeminiMock();
  const direct = `http://127.0.0.1:${mocks.httpPort}`;
  const { portkey, skipped: portkeySkipped } = await portkeySide(direct);
  if (portkeySkipped) log(`Portkey side skipped: ${portkeySkipped}`);
  // Portkey joins the small JSON figures (latency and req/s) only; its CPU is its own Node process's.
  const portkeySides = portkey ? { portkey: portkey.side } : {};
  const endpoints = {
    "bench-socket": { targets: [direct], transport: "socket" },
    "bench-fetch": { targets: [direct], transport: "fetch" },
    "bench-gemini": { targets: [gemini.url], transport: "socket", gemini: true },
    // The same Gemini mock as a plain socket preset: the stream passes through without a session.
    "bench-gemini-plain": { targets: [gemini.url], transport: "socket" },
  };
  log("building the Worker bundle and starting workerd serve");
  const workerd = await startWorkerd({
    vars: {
      AUTH_TOKEN,
      ALLOW_PRIVATE_TARGETS: "true",
      ENDPOINTS: JSON.stringify(endpoints),
      PRESET_AUTH_ENABLED: "false",
      GEMINI_SPECIAL_HANDLING_ENABLED: "true",
      DEBUG_MODE: "false",
      AGGRESSIVE_FALLBACK: "true",
    },
  });
  const rss = rssSampler(workerd.pid);
  const startupRssMb = Math.round(rssBytes(workerd.pid) / 1e5) / 10;
  const gw = workerd.gatewayUrl;
  const sides = {
    direct,
    floor: `${workerd.floorUrl}/${mocks.httpPort}`,
    socket_floor: `${workerd.floorUrl}/socket/${mocks.httpPort}`,
    socket_preset: `${gw}/bench-socket`,
    fetch_preset: `${gw}/bench-fetch`,
    generic: `${gw}/${AUTH_TOKEN}/http/127.0.0.1:${mocks.httpPort}`,
  };
  const results = { machine: machineInfo(), mode: quick ? "quick" : "full", method: {} };
  try {
    // First, in the fresh process: once an earlier step has grown the heap, a large body may not grow the RSS
    // at all, and the figure would say nothing.
    log(`peak memory per protected request (small bodies, ${PLAN.memory.largeBytes / 2 ** 20} MiB body)`);
    results.protected_memory = await protectedMemory({
      sessionBase: `${gw}/bench-gemini`,
      geminiMockUrl: gemini.url,
      rss,
      ...PLAN.memory,
    });
    log("latency at concurrency 1");
    results.latency = await latency({ ...sides, ...portkeySides }, PLAN.latency);
    log("throughput at concurrency 32 and 128");
    results.throughput = await throughput(
      {
        direct,
        floor: sides.floor,
        socket_floor: sides.socket_floor,
        socket_preset: sides.socket_preset,
        fetch_preset: sides.fetch_preset,
        generic: sides.generic,
        ...portkeySides,
      },
      {
        concurrencies: [32, 128],
        workerdPid: workerd.pid,
        cpuPids: portkey ? { portkey: portkey.pid } : {},
        ...PLAN.throughput,
      },
    );
    results.portkey = portkey
      ? { version: portkey.version, ...portkeyComparison(results) }
      : { skipped: portkeySkipped };
    log("SSE streaming, 64 deltas every 20 ms");
    results.sse = await streaming(
      { direct, floor: sides.floor, socket_preset: sides.socket_preset },
      { rounds: PLAN.sse, events: 64, gapMs: 20 },
    );
    log("stream guard: the same chat stream on a guarded and an unguarded route");
    results.stream_guard = await streamGuardCost(
      {
        direct: `${direct}/v1/chat/completions`,
        unguarded: `${sides.socket_preset}/v1/chat/unguarded`,
        guarded: `${sides.socket_preset}/v1/chat/completions`,
      },
      PLAN.guard,
    );
    log(`${PLAN.bodyBytes / 2 ** 20} MiB each way`);
    results.large_body = await largeBodies(
      { direct, floor: sides.floor, socket_preset: sides.socket_preset, fetch_preset: sides.fetch_preset },
      { rounds: PLAN.body, bytes: PLAN.bodyBytes, rss, gatewaySide: "socket_preset" },
    );
    log("Gemini repair");
    results.gemini_repair = await geminiRepair({
      gatewayUrl: gw,
      geminiMockUrl: gemini.url,
      endpoint: "bench-gemini",
      rounds: PLAN.gemini,
    });
    log("Gemini time to first event: session vs plain socket preset vs direct");
    results.gemini_first_event = await geminiFirstEvent({
      sides: { direct: gemini.url, plain: `${gw}/bench-gemini-plain`, session: `${gw}/bench-gemini` },
      geminiMockUrl: gemini.url,
      ...PLAN.firstEvent,
    });
    log("WebSocket round trip");
    results.websocket = await webSocketRoundTrip({
      directUrl: `ws://127.0.0.1:${mocks.wsPort}/echo`,
      gatewayUrl: `${gw.replace("http:", "ws:")}/${AUTH_TOKEN}/ws/127.0.0.1:${mocks.wsPort}/echo`,
      ...PLAN.ws,
    });
    results.workerd_rss_startup_mb = startupRssMb;
    results.workerd_rss_peak_mb = Math.round(rss.peak() / 1e5) / 10;
  } catch (error) {
    process.stderr.write(
      `bench failed: ${error.stack ?? error}\nworkerd log tail:\n${workerd.log.slice(-20).join("")}\n`,
    );
    process.exitCode = 1;
  } finally {
    rss.stop();
    await workerd.stop();
    await portkey?.stop();
    await mocks.close();
    await gemini.close();
  }
  if (process.exitCode) return;
  results.method = {
    interleaving:
      "sides alternate round by round with rotating order; figures are medians of per-round statistics",
    plan: PLAN,
    client:
      "node:http keep-alive agents in one Node process on the same machine; all upstreams are mocks on 127.0.0.1",
    gateway:
      "wrangler deploy --dry-run bundle under plain `workerd serve`, SQLite Durable Objects on local disk",
    floor: "a bare pass-through Worker (one fetch) in the same workerd process",
    small_json:
      "POST …/json/chat/completions with a 72-byte chat body and the same headers on every side; only the mock's own answer counts",
    portkey: portkey
      ? `@portkey-ai/gateway@${portkey.version} (build/start-server.js --headless, NODE_ENV=production) in its own Node ${process.version} process, x-portkey-provider: openai, x-portkey-custom-host: the mock's /json`
      : `not run: ${portkeySkipped}`,
  };
  results.duration_s = Math.round((nowMs() - started) / 100) / 10;
  // A quick run is a smoke test: it must not replace the committed figures the README shows.
  const outDir = quick ? "bench/out" : "bench";
  mkdirSync(join(REPO_DIR, outDir), { recursive: true });
  writeFileSync(join(REPO_DIR, outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(REPO_DIR, outDir, "chart.svg"), renderChart(results));
  process.stdout.write(`${formatTable(results)}\n`);
  log(`wrote ${outDir}/results.json and ${outDir}/chart.svg in ${results.duration_s} s`);
}

await main();

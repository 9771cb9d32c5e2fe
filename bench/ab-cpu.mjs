/**
 * `node bench/ab-cpu.mjs <treeA> <treeB> [windows]`: workerd CPU per request (`/proc/<pid>/stat`), then the added
 * p50/p99 at concurrency 1 (against direct, sides taking turns round by round), of two copies of
 * this repository, each bundled and served by its own `workerd serve`, for the bench's small JSON request (POST, a
 * 72-byte chat body, answered by the mock's small completion) on a socket and a fetch preset (closed loop, 16 clients, 1.5 s windows alternating A and B). Side by side, both builds see the same
 * machine; CPU per request is what a change to the hot path should move.
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startBenchMocks } from "./lib/bench-mocks.mjs";
import { closedLoop, keepAliveAgent } from "./lib/client.mjs";
import { cpuSplitMs } from "./lib/cpu.mjs";
import { isMockAnswer, latency, smallJsonRequest } from "./lib/measure.mjs";
import { round } from "./lib/stats.mjs";

const args = process.argv.slice(2);
// `--vars-b JSON`: variables only B gets (the same tree twice, one setting apart, e.g. '{"REQUEST_LOG":"errors"}').
const varsAt = args.indexOf("--vars-b");
const varsB = varsAt >= 0 ? JSON.parse(args.splice(varsAt, 2)[1] ?? "{}") : {};
const [treeA, treeB, windowsArg] = args;
if (!treeA || !treeB) {
  process.stderr.write("usage: node bench/ab-cpu.mjs <treeA> <treeB> [windows] [--vars-b JSON]\n");
  process.exit(2);
}
const WINDOWS = Number(windowsArg ?? 8);
const WINDOW_MS = 1500;
const CONCURRENCY = 16;
const starter = async (tree) =>
  (await import(pathToFileURL(join(resolve(tree), "bench/lib/workerd.mjs")).href)).startWorkerd;

const mocks = await startBenchMocks();
const direct = `http://127.0.0.1:${mocks.httpPort}`;
const vars = {
  ALLOW_PRIVATE_TARGETS: "true",
  ENDPOINTS: JSON.stringify({
    s: { targets: [direct], transport: "socket" },
    f: { targets: [direct], transport: "fetch" },
  }),
};
const builds = {
  A: await (await starter(treeA))({ vars }),
  B: await (await starter(treeB))({ vars: { ...vars, ...varsB } }),
};
const totals = {};
try {
  for (let w = 0; w < WINDOWS; w++) {
    for (const name of w % 2 ? ["A", "B"] : ["B", "A"]) {
      for (const route of ["s", "f"]) {
        const build = builds[name];
        const agent = keepAliveAgent(CONCURRENCY);
        const before = cpuSplitMs(build.pid);
        const { url, request } = smallJsonRequest(`${build.gatewayUrl}/${route}`);
        const run = await closedLoop(url, {
          concurrency: CONCURRENCY,
          durationMs: WINDOW_MS,
          agent,
          request,
          isAnswer: isMockAnswer,
        });
        const after = cpuSplitMs(build.pid);
        agent.destroy();
        const key = `${name} ${route === "s" ? "socket preset" : "fetch preset"}`;
        totals[key] ??= { userMs: 0, systemMs: 0, requests: 0, failed: 0 };
        totals[key].userMs += after.user - before.user;
        totals[key].systemMs += after.system - before.system;
        totals[key].requests += run.done;
        totals[key].failed += run.failed;
      }
    }
  }
  const out = Object.fromEntries(
    Object.entries(totals).map(([k, v]) => [
      k,
      {
        cpu_ms_per_request: round((v.userMs + v.systemMs) / v.requests, 3),
        user_ms_per_request: round(v.userMs / v.requests, 3),
        system_ms_per_request: round(v.systemMs / v.requests, 3),
        requests: v.requests,
        failed: v.failed,
      },
    ]),
  );
  // Then the added latency at concurrency 1, the sides taking turns round by round (as `npm run bench` does).
  const sides = { direct };
  for (const name of ["A", "B"]) {
    sides[`${name} socket preset`] = `${builds[name].gatewayUrl}/s`;
    sides[`${name} fetch preset`] = `${builds[name].gatewayUrl}/f`;
  }
  const latencies = await latency(sides, { rounds: WINDOWS, perRound: 200, warmup: 50 });
  for (const [key, value] of Object.entries(out)) {
    value.added_p50_ms_c1 = latencies[key].added_p50_ms;
    value.added_p99_ms_c1 = latencies[key].added_p99_ms;
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await Promise.all([builds.A.stop(), builds.B.stop()]);
  await mocks.close();
}

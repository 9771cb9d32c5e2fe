/**
 * `node bench/stream-guard.mjs [--quick]`: the stream integrity guard's added latency per event on a
 * plain streaming preset against the same preset's unguarded path (issue 12), under plain
 * `workerd serve` like `bench/run.mjs`. Prints one JSON object.
 */
import { join } from "node:path";
import { streamGuardCost } from "./lib/measure-guard.mjs";
import { startMockProcess } from "./lib/mock-process.mjs";
import { REPO_DIR, startWorkerd } from "./lib/workerd.mjs";

const quick = process.argv.includes("--quick");
const PLAN = quick ? { rounds: 4, events: 64, gapMs: 5 } : { rounds: 20, events: 128, gapMs: 5 };

const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/bench-mocks.mjs"), "startBenchMocks");
const direct = `http://127.0.0.1:${mocks.httpPort}`;
const workerd = await startWorkerd({
  vars: {
    ALLOW_PRIVATE_TARGETS: "true",
    ENDPOINTS: JSON.stringify({ "bench-socket": { targets: [direct], transport: "socket" } }),
  },
});
try {
  const gw = `${workerd.gatewayUrl}/bench-socket`;
  // Warm-up: the first requests pay for the isolate's start and the config parse.
  await streamGuardCost(
    {
      direct: `${direct}/v1/chat/completions`,
      unguarded: `${gw}/v1/chat/unguarded`,
      guarded: `${gw}/v1/chat/completions`,
    },
    { rounds: 2, events: 8, gapMs: 1 },
  );
  const result = await streamGuardCost(
    {
      direct: `${direct}/v1/chat/completions`,
      unguarded: `${gw}/v1/chat/unguarded`,
      guarded: `${gw}/v1/chat/completions`,
    },
    PLAN,
  );
  process.stdout.write(`${JSON.stringify({ stream_guard: result }, null, 2)}\n`);
} finally {
  await workerd.stop();
  await mocks.close();
}

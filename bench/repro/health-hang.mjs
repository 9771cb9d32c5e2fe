/**
 * Reproduction (found by the soak): after chaos on a multi-target endpoint (503 bursts on one target,
 * another killed mid-run, one dead from the start) the first `GET /health` is cancelled by workerd
 * ("The Workers runtime canceled this request because it detected that your Worker's code had hung")
 * and every later `/health` hangs. Seen in 2 of 3 runs at 432c0ff; not seen in 4 runs after efbd583 ("Context-safe
 * health views"), so it is kept as a regression check. Run: `npx node bench/repro/health-hang.mjs`.
 */
import { join } from "node:path";
import { startMockProcess } from "../lib/mock-process.mjs";
import { plainLoad } from "../lib/soak-plain.mjs";
import { REPO_DIR, startWorkerd } from "../lib/workerd.mjs";

const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/chaos-mocks.mjs"), "startSoakMocks");
const control = `http://127.0.0.1:${mocks.controlPort}`;
const targets = [
  ...["t1", "t2", "t3", "t4"].map((t) => `http://127.0.0.1:${mocks.targetPorts[t]}`),
  `http://127.0.0.1:${mocks.deadPort}`,
];
const workerd = await startWorkerd({
  vars: {
    AUTH_TOKEN: "tok",
    ALLOW_PRIVATE_TARGETS: "true",
    ENDPOINTS: JSON.stringify({ multi: { targets, transport: "socket" } }),
  },
});
const health = async () => {
  const started = Date.now();
  try {
    const res = await fetch(`${workerd.gatewayUrl}/health`, {
      headers: { "x-proxy-token": "tok" },
      signal: AbortSignal.timeout(10_000),
    });
    return `${res.status} in ${Date.now() - started} ms ${(await res.text()).slice(0, 40).replace(/\s+/g, " ")}`;
  } catch (error) {
    return `${error.name} after ${Date.now() - started} ms`;
  }
};
try {
  setTimeout(() => fetch(`${control}/burst/t2?ms=2000`), 1000);
  setTimeout(() => fetch(`${control}/kill/t3`), 2000);
  const results = [];
  await plainLoad({
    url: `${workerd.gatewayUrl}/multi/x`,
    concurrency: 4,
    until: Date.now() + 6000,
    seed: 1,
    results,
  });
  console.log(`${results.length} chaos requests done`);
  for (let k = 0; k < 3; k++) console.log(`GET /health: ${await health()}`);
  console.log(
    workerd.log
      .join("")
      .split("\n")
      .filter((l) => /hung/.test(l))
      .slice(-1)
      .join("\n"),
  );
} finally {
  await workerd.stop();
  await mocks.close();
}

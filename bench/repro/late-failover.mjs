/**
 * Reproduction (found by the soak): the gateway fails over to another target after its client has
 * left. A two-target endpoint; the first target stalls 800 ms then answers 503; the client leaves
 * after 100 ms. Expected: one upstream arrival. Observed: a second arrival ~700–800 ms after the
 * client left. Run: `npx node bench/repro/late-failover.mjs [extra-compat-flag]` (e.g. enable_request_signal).
 */
import http from "node:http";
import { join } from "node:path";
import { startMockProcess } from "../lib/mock-process.mjs";
import { REPO_DIR, startWorkerd } from "../lib/workerd.mjs";

const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/chaos-mocks.mjs"), "startSoakMocks");
const targets = ["t1", "t2"].map((t) => `http://127.0.0.1:${mocks.targetPorts[t]}`);
const workerd = await startWorkerd({
  extraFlags: process.argv[2] ? [process.argv[2]] : [],
  vars: {
    ALLOW_PRIVATE_TARGETS: "true",
    ENDPOINTS: JSON.stringify({ two: { targets, transport: "socket" } }),
  },
});
try {
  const req = http.request(`${workerd.gatewayUrl}/two/x`, {
    method: "POST",
    headers: { "x-soak-id": "r1", "x-soak-plan": "stall:800:503,ok" },
  });
  req.on("error", () => {});
  req.end("abc");
  await new Promise((r) => setTimeout(r, 100));
  const left = Date.now();
  req.destroy();
  await new Promise((r) => setTimeout(r, 2000));
  const observed = await (await fetch(`http://127.0.0.1:${mocks.controlPort}/observed`)).json();
  const arrivals = observed.plain.r1.map((a) => `${a.target} ${a.at - left} ms (${a.behaviour})`);
  console.log(`upstream arrivals relative to the client leaving: ${arrivals.join("; ")}`);
  console.log(
    arrivals.length > 1 ? "REPRODUCED: an attempt started after the client left" : "not reproduced",
  );
} finally {
  await workerd.stop();
  await mocks.close();
}

/**
 * `node bench/stream-repair.mjs [--quick]`: what stream repair costs a healthy stream (issue 12). The same complete
 * chat completions stream through the same socket preset, once on an endpoint where it is only guarded and once on an
 * endpoint with repair on (a `StreamSession` object per request), under plain `workerd serve` like `bench/run.mjs`.
 * Reports per side the median time to first byte and to the last byte, and the repaired − guarded differences.
 * The sides run one after another in a rotating order, so they never compete for the CPU.
 */
import { join } from "node:path";
import { keepAliveAgent, postStream } from "./lib/client.mjs";
import { startMockProcess } from "./lib/mock-process.mjs";
import { median, round } from "./lib/stats.mjs";
import { REPO_DIR, startWorkerd } from "./lib/workerd.mjs";

const quick = process.argv.includes("--quick");
const PLAN = quick ? { rounds: 4, events: 32, gapMs: 5 } : { rounds: 20, events: 64, gapMs: 5 };
const BODY = Buffer.from(
  JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
);

/** POSTs the streaming request; resolves with the time to the first and to the last byte, and the text. */
async function post(url, agent) {
  let ttfb = null;
  let text = "";
  const { status, headers, totalMs } = await postStream(url, BODY, {
    agent,
    onChunk: (chunk, atMs) => {
      ttfb ??= atMs;
      text += chunk;
    },
  });
  return { status, ttfb, total: totalMs, text, session: headers["x-proxy-session-id"] };
}

const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/bench-mocks.mjs"), "startBenchMocks");
const direct = `http://127.0.0.1:${mocks.httpPort}`;
const workerd = await startWorkerd({
  vars: {
    ALLOW_PRIVATE_TARGETS: "true",
    ENDPOINTS: JSON.stringify({
      "bench-guarded": { targets: [direct], transport: "socket" },
      "bench-repaired": { targets: [direct], transport: "socket", repair: true },
    }),
  },
});
try {
  const urls = {
    guarded: `${workerd.gatewayUrl}/bench-guarded/v1/chat/completions`,
    repaired: `${workerd.gatewayUrl}/bench-repaired/v1/chat/completions`,
  };
  const names = Object.keys(urls);
  const agents = Object.fromEntries(names.map((n) => [n, keepAliveAgent(1)]));
  const per = Object.fromEntries(names.map((n) => [n, { ttfb: [], total: [] }]));
  const run = async (rounds, events, gapMs, record) => {
    for (let r = 0; r < rounds; r++) {
      for (const n of names.map((_, i) => names[(i + r) % names.length])) {
        const res = await post(`${urls[n]}?n=${events}&gapMs=${gapMs}`, agents[n]);
        if (res.status !== 200 || !res.text.includes("[DONE]"))
          throw new Error(`${n}: ${res.status} without [DONE]`);
        if ((n === "repaired") !== (res.session !== undefined))
          throw new Error(`${n}: session header mismatch`);
        if (!record) continue;
        per[n].ttfb.push(res.ttfb);
        per[n].total.push(res.total);
      }
    }
  };
  await run(2, 8, 1, false); // warm-up: isolate start, config parse, first object
  await run(PLAN.rounds, PLAN.events, PLAN.gapMs, true);
  for (const agent of Object.values(agents)) agent.destroy();
  const side = (n) => ({ ttfb_ms: round(median(per[n].ttfb), 3), total_ms: round(median(per[n].total), 3) });
  const sides = Object.fromEntries(names.map((n) => [n, side(n)]));
  const result = {
    ...PLAN,
    sides,
    added_ttfb_ms: round(sides.repaired.ttfb_ms - sides.guarded.ttfb_ms, 3),
    added_total_ms: round(sides.repaired.total_ms - sides.guarded.total_ms, 3),
  };
  process.stdout.write(`${JSON.stringify({ stream_repair: result }, null, 2)}\n`);
} finally {
  await workerd.stop();
  await mocks.close();
}

/**
 * `node bench/profile.mjs [--route socket|fetch|generic|gemini|all] [--requests N] [--top N]`: CPU
 * profiles of the gateway's hot paths under plain `workerd serve --inspector-addr` (issue 13 item 1).
 * It connects to the gateway's isolate over the Chrome DevTools protocol (`Profiler.enable/start/stop`),
 * drives one route with small requests at a few concurrent clients, and prints where the samples fell:
 * self time per function (file:line) and inclusive time of the gateway's own functions. `--save DIR`
 * writes each `.cpuprofile` for Chrome DevTools.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { keepAliveAgent, timedRequest } from "./lib/client.mjs";
import { registerScenario, startGeminiMock } from "./lib/gemini-mock.mjs";
import { connectInspector } from "./lib/inspector.mjs";
import { isMockAnswer, smallJsonRequest } from "./lib/measure.mjs";
import { startMockProcess } from "./lib/mock-process.mjs";
import { freePort, REPO_DIR, startWorkerd } from "./lib/workerd.mjs";

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
};
const ROUTE = arg("--route", "all");
const REQUESTS = Number(arg("--requests", 2000));
const TOP = Number(arg("--top", 25));
const SAVE = arg("--save", null);
const CONCURRENCY = 4;
const SAMPLING_INTERVAL_US = 100;
const AUTH_TOKEN = "profile-token";
const log = (line) => process.stderr.write(`profile: ${line}\n`);

/** Self and inclusive sample time per function of a `Profiler.Profile`. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  const key = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.split("/").pop() : "";
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const node = byId.get(id);
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = key(byId.get(cur));
      if (seen.has(ck)) continue;
      seen.add(ck);
      inclusive.set(ck, (inclusive.get(ck) ?? 0) + dt);
    }
  });
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, self: sorted(self), inclusive: sorted(inclusive) };
}

async function drive(url, { method = "GET", body, request, count }) {
  const agent = keepAliveAgent(CONCURRENCY);
  let left = count;
  let failed = 0;
  const init = request ?? { method, ...(body ? { body: Buffer.from(body) } : {}) };
  const worker = async () => {
    while (left-- > 0) {
      const r = await timedRequest(url(), { agent, ...init });
      if (r.status !== 200 || (request && !isMockAnswer(r))) failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return failed;
}

function smallJsonRoute(base) {
  const { url, request } = smallJsonRequest(base);
  return { url: () => url, request };
}

async function main() {
  const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/bench-mocks.mjs"), "startBenchMocks");
  const gemini = await startGeminiMock();
  const direct = `http://127.0.0.1:${mocks.httpPort}`;
  const inspectorPort = await freePort();
  const workerd = await startWorkerd({
    inspectorPort,
    minify: false,
    vars: {
      AUTH_TOKEN,
      ALLOW_PRIVATE_TARGETS: "true",
      ENDPOINTS: JSON.stringify({
        "bench-socket": { targets: [direct], transport: "socket" },
        "bench-fetch": { targets: [direct], transport: "fetch" },
        "bench-gemini": { targets: [gemini.url], transport: "socket", gemini: true },
      }),
    },
  });
  const gw = workerd.gatewayUrl;
  const geminiBody = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
  const scenarioIds = [];
  const routes = {
    // The bench's small JSON request (POST chat body, the mock's small completion), as `npm run bench` sends it.
    socket: smallJsonRoute(`${gw}/bench-socket`),
    fetch: smallJsonRoute(`${gw}/bench-fetch`),
    generic: smallJsonRoute(`${gw}/${AUTH_TOKEN}/http/127.0.0.1:${mocks.httpPort}`),
    gemini: {
      url: () => `${gw}/bench-gemini/v1beta/models/${scenarioIds.pop()}:streamGenerateContent?alt=sse`,
      method: "POST",
      body: geminiBody,
      prepare: async (n) => {
        for (let i = 0; i < n; i++)
          scenarioIds.push(await registerScenario(gemini.url, { answer: "short answer", chunkChars: 16 }));
      },
      count: Math.max(50, Math.round(REQUESTS / 10)),
    },
  };
  const chosen = ROUTE === "all" ? Object.keys(routes) : [ROUTE];
  const client = await connectInspector(inspectorPort);
  log(`inspector target: ${client.title}`);
  try {
    await client.send("Profiler.enable");
    await client.send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    for (const name of chosen) {
      const route = routes[name];
      const count = route.count ?? REQUESTS;
      if (route.prepare) await route.prepare(count + 50);
      await drive(route.url, { ...route, count: 50 });
      await client.send("Profiler.start");
      const failed = await drive(route.url, { ...route, count });
      const { profile } = await client.send("Profiler.stop");
      if (SAVE) writeFileSync(join(SAVE, `${name}.cpuprofile`), JSON.stringify(profile));
      const s = summarize(profile);
      const busy = s.totalMs - (s.self.find(([k]) => k.startsWith("(idle)"))?.[1] ?? 0);
      const lines = [
        `== ${name}: ${count} requests (${failed} failed); ${s.totalMs.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms busy = ${(busy / count).toFixed(3)} ms per request`,
        "self time (ms per request, share of busy):",
        ...s.self
          .filter(([k]) => !k.startsWith("(idle)"))
          .slice(0, TOP)
          .map(
            ([k, v]) =>
              `  ${(v / count).toFixed(4).padStart(8)}  ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`,
          ),
        "inclusive time of named functions (ms per request):",
        ...s.inclusive
          .filter(([k]) => !k.startsWith("(") && !k.startsWith("(anonymous)"))
          .slice(0, TOP)
          .map(
            ([k, v]) =>
              `  ${(v / count).toFixed(4).padStart(8)}  ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`,
          ),
      ];
      process.stdout.write(`${lines.join("\n")}\n\n`);
    }
  } finally {
    client.close();
    await workerd.stop();
    await mocks.close();
    await gemini.close();
  }
}

await main();

/**
 * `node bench/ab-first-event.mjs <treeA> <treeB> [rounds]`: an A/B of a protected Gemini stream's time to first event
 * between two copies of this repository (e.g. a change and the commit before it), each bundled and served by its own
 * `workerd serve` at the same time, requests alternating A, B and B's plain socket preset. On a shared machine two
 * separate runs differ by more than most changes; side by side, both builds see the same load.
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { keepAliveAgent } from "./lib/client.mjs";
import { registerScenario, startGeminiMock } from "./lib/gemini-mock.mjs";
import { streamOnce } from "./lib/measure-gemini.mjs";
import { median, round } from "./lib/stats.mjs";

const [treeA, treeB, roundsArg] = process.argv.slice(2);
if (!treeA || !treeB) {
  process.stderr.write("usage: node bench/ab-first-event.mjs <treeA> <treeB> [rounds]\n");
  process.exit(2);
}
const ROUNDS = Number(roundsArg ?? 40);
const WARMUP_ROUNDS = 3;
const starter = async (tree) =>
  (await import(pathToFileURL(join(resolve(tree), "bench/lib/workerd.mjs")).href)).startWorkerd;

const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });

/** Time to the first `data:` event of one streamed request, in ms (`streamOnce`, as `npm run bench` measures it). */
async function firstEvent(url, agent) {
  const got = await streamOnce(url, body, agent);
  if (got.status !== 200 || got.firstEventMs === null)
    throw new Error(`status ${got.status} without an event`);
  return got.firstEventMs;
}

const gemini = await startGeminiMock();
const vars = {
  ALLOW_PRIVATE_TARGETS: "true",
  ENDPOINTS: JSON.stringify({
    g: { targets: [gemini.url], transport: "socket", gemini: true },
    p: { targets: [gemini.url], transport: "socket" },
  }),
};
const [a, b] = await Promise.all([(await starter(treeA))({ vars }), (await starter(treeB))({ vars })]);
try {
  const sides = { A: `${a.gatewayUrl}/g`, B: `${b.gatewayUrl}/g`, plain: `${b.gatewayUrl}/p` };
  const agents = Object.fromEntries(Object.keys(sides).map((s) => [s, keepAliveAgent(1)]));
  const times = Object.fromEntries(Object.keys(sides).map((s) => [s, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 ? ["A", "B", "plain"] : ["B", "A", "plain"]) {
      const id = await registerScenario(gemini.url, {
        answer: "A short answer streamed in events.",
        chunkChars: 16,
      });
      const ms = await firstEvent(
        `${sides[side]}/v1beta/models/${id}:streamGenerateContent?alt=sse`,
        agents[side],
      );
      if (r >= WARMUP_ROUNDS) times[side].push(ms);
    }
  }
  const p50 = Object.fromEntries(Object.entries(times).map(([s, t]) => [s, round(median(t), 2)]));
  process.stdout.write(`${JSON.stringify({ streams_per_side: times.A.length, first_event_ms_p50: p50 })}\n`);
} finally {
  await Promise.all([a.stop(), b.stop()]);
  await gemini.close();
}

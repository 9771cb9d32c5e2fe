/**
 * Replays soak Gemini streams by index (`npx node bench/repro/gemini-stream.mjs <seed> <i> [<i>…]`; `FORMAT=openai`
 * for the OpenAI-compatible route): the
 * same scenario the soak generated for stream i, streamed once through the gateway, then the
 * scenario, the mock's attempt log and the first difference against the ground truth are printed.
 */
import { join } from "node:path";
import { startMockProcess } from "../lib/mock-process.mjs";
import { planGemini, runGemini, textDiff } from "../lib/soak-gemini.mjs";
import { itemSeed, seededRandom } from "../lib/stats.mjs";
import { REPO_DIR, startWorkerd } from "../lib/workerd.mjs";

const [seed = 1, ...indexes] = process.argv.slice(2).map(Number);
const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/chaos-mocks.mjs"), "startSoakMocks");
const geminiUrl = `http://127.0.0.1:${mocks.geminiPort}`;
const workerd = await startWorkerd({
  vars: {
    ALLOW_PRIVATE_TARGETS: "true",
    ENDPOINTS: JSON.stringify({ g: { targets: [geminiUrl], transport: "socket", gemini: true } }),
  },
});
try {
  for (const i of indexes) {
    const plan = planGemini(seededRandom(itemSeed(seed, "gemini", i)), i, { allowStall: false });
    plan.leaveAfterMs = null;
    plan.format = process.env.FORMAT === "openai" ? "openai" : "sse";
    const res = await fetch(`${geminiUrl}/__scenarios`, {
      method: "POST",
      body: JSON.stringify(plan.scenario),
    });
    const { id } = await res.json();
    const { Agent } = await import("node:http");
    const result = await runGemini(workerd.gatewayUrl, "g", new Agent(), plan, id);
    const log = await (await fetch(`${geminiUrl}/__scenarios/${id}/requests?ended=1`)).json();
    console.log(`\n== stream ${i} (${id}): ${result.outcome} ${result.detail ?? ""}`);
    console.log(
      `scenario: ${JSON.stringify({ ...plan.scenario, answer: `<${[...plan.answer].length} chars>`, thought: plan.scenario.thought ? "<thought>" : undefined })}`,
    );
    for (const q of log.requests.filter((r) => r.attempt)) {
      console.log(
        `  attempt ${q.attempt}: ${q.behavior}, continuedFrom ${q.continuedFrom}, partial ends ${JSON.stringify(q.partialText.slice(-20))}, emitted ${[...q.emittedAnswer].length} chars, end ${q.end}`,
      );
    }
    if (result.text !== undefined) {
      const d = textDiff(plan.answer, result.text);
      const cps = [...plan.answer];
      const got = [...result.text];
      console.log(`  diff ${JSON.stringify(d)}`);
      console.log(
        `  expected …${JSON.stringify(cps.slice(Math.max(0, d.firstDifferenceAt - 20), d.firstDifferenceAt + 20).join(""))}`,
      );
      console.log(
        `  got      …${JSON.stringify(got.slice(Math.max(0, d.firstDifferenceAt - 20), d.firstDifferenceAt + 20).join(""))}`,
      );
    }
  }
} finally {
  await workerd.stop();
  await mocks.close();
}

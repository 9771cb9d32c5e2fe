/**
 * `node bench/memory.mjs [--body-mib N] [--rounds N] [--continued-first] [--warm] [--heap]`: peak memory of one
 * protected Gemini request (issue 11.3), alone, without the rest of `npm run bench`. The gateway runs under plain
 * `workerd serve` (as in bench/run.mjs); the Gemini mock plays the model. For each round one
 * `:streamGenerateContent?alt=sse` request whose prompt is `--body-mib` MiB of text (default 24) goes through a
 * protected endpoint, once more with its first stream cut so that the session sends one continuation, and, for
 * comparison, through the same mock as a plain socket preset (the body streams through, no session). The workerd
 * process's RSS (VmRSS from /proc, sampled every 25 ms) is read before and at its peak during the request; the growth
 * is divided by the body size and compared with the goal: at most 2× the body. A final request just over the body
 * cap checks that it is refused with 413 before it costs memory. `--warm` first sends a tiny protected request (the
 * process's first session has a fixed cost); `--heap` splits each growth into JS heap and ArrayBuffer bytes.
 */

import { request } from "node:http";
import { registerScenario, scenarioRequests, startGeminiMock } from "./lib/gemini-mock.mjs";
import { heapInspector, heapPeaks } from "./lib/heap-usage.mjs";
import { freePort, rssBytes, rssSampler, startWorkerd } from "./lib/workerd.mjs";

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const BODY_MIB = arg("--body-mib", 24);
const ROUNDS = arg("--rounds", 3);
const CONTINUED_FIRST = process.argv.includes("--continued-first");
/** Also read the JS heap and ArrayBuffer bytes over workerd's inspector (see `lib/heap-usage.mjs`). */
const HEAP = process.argv.includes("--heap");
/** Start with a tiny protected request, so the measured rounds no longer carry the process's first-session cost. */
const WARM = process.argv.includes("--warm");
/** `BUFFERED_BODY_LIMIT_BYTES` in src/durable/gemini-session/capped-body.ts. */
const BODY_CAP_BYTES = 32 * 1024 * 1024;
const GOAL_RATIO = 2;
const MB = 1e6;

const log = (line) => process.stderr.write(`memory: ${line}\n`);

function promptBody(textBytes) {
  return JSON.stringify({ contents: [{ role: "user", parts: [{ text: "a".repeat(textBytes) }] }] });
}

/** Sends one request and reads the whole answer; resolves with status and answer text. */
async function send(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": "bench-key" },
    body,
  });
  return { status: res.status, sessionId: res.headers.get("x-proxy-session-id"), text: await res.text() };
}

/**
 * Sends only the head of a request announcing `length` body bytes and resolves with the response status: the gateway
 * must refuse it from the `Content-Length` alone, before any body byte (a client that wrote the body would see the
 * connection closed under it).
 */
function announceOnly(url, length) {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(length),
        "x-goog-api-key": "k",
      },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
      req.destroy();
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

async function measure(rss, url, body) {
  // Let the previous request's garbage go first: RSS is what the OS sees, not the live heap.
  await new Promise((r) => setTimeout(r, 1500));
  rss.reset();
  const before = rssBytes(rss.pid) ?? 0;
  const heapBefore = rss.inspector ? await rss.inspector.usage() : null;
  const peaks = rss.inspector ? heapPeaks(rss.inspector) : null;
  const got = await send(url, body);
  const peak = rss.peak();
  const heap = peaks ? await peaks.stop() : null;
  const split = heap && {
    heap: Math.max(0, heap.heap - heapBefore.totalSize),
    buffers: Math.max(0, heap.buffers - (heapBefore.backingStorageSize ?? 0)),
  };
  return { ...got, growth: Math.max(0, peak - before), split };
}

/** With `--heap`: how much of the RSS growth the JS heap and ArrayBuffers account for (peaks, sampled sparsely). */
function splitText(split) {
  if (!split) return "";
  return ` (JS heap +${(split.heap / MB).toFixed(1)} MB, ArrayBuffers +${(split.buffers / MB).toFixed(1)} MB)`;
}

async function main() {
  const gemini = await startGeminiMock();
  log("building the Worker bundle and starting workerd serve");
  const inspectorPort = HEAP ? await freePort() : null;
  const workerd = await startWorkerd({
    inspectorPort,
    vars: {
      ALLOW_PRIVATE_TARGETS: "true",
      GEMINI_SPECIAL_HANDLING_ENABLED: "true",
      ENDPOINTS: JSON.stringify({
        "bench-gemini": { targets: [gemini.url], transport: "socket", gemini: true },
        "bench-gemini-plain": { targets: [gemini.url], transport: "socket" },
      }),
    },
  });
  const sampler = rssSampler(workerd.pid);
  const inspector = HEAP ? await heapInspector(inspectorPort) : null;
  const rss = { pid: workerd.pid, reset: sampler.reset, peak: sampler.peak, inspector };
  const body = promptBody(BODY_MIB * 1024 * 1024);
  const bodyBytes = Buffer.byteLength(body);
  const rows = [];
  let warmMb = null;
  try {
    log(`startup RSS ${(rssBytes(workerd.pid) / MB).toFixed(1)} MB; body ${(bodyBytes / MB).toFixed(1)} MB`);
    if (WARM) {
      // The process's first session, with a tiny body: what any first session costs, whatever its size.
      const id = await registerScenario(gemini.url, { answer: "ok" });
      const url = `${workerd.gatewayUrl}/bench-gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`;
      const got = await measure(rss, url, promptBody(16));
      if (got.status !== 200) throw new Error(`warm-up: status ${got.status}`);
      warmMb = got.growth / MB;
      log(`warm-up (first session, 16-byte prompt): +${warmMb.toFixed(1)} MB`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const sides = [
        ["protected", "bench-gemini", 1],
        // The same, with the first stream cut: the session continues it once (a second upload of the prompt).
        ["continued", "bench-gemini", 2],
        ["plain", "bench-gemini-plain", 1],
      ];
      // The first request into a fresh process costs the most: `--continued-first` makes it a continued one.
      if (CONTINUED_FIRST) sides.unshift(...sides.splice(1, 1));
      for (const [side, endpoint, attempts] of sides) {
        const cut = attempts > 1 ? { attempts: [{ kind: "cut", afterChars: 8 }, { kind: "complete" }] } : {};
        const id = await registerScenario(gemini.url, {
          answer: "ok, a large prompt",
          chunkChars: 4,
          ...cut,
        });
        const url = `${workerd.gatewayUrl}/${endpoint}/v1beta/models/${id}:streamGenerateContent?alt=sse`;
        const got = await measure(rss, url, body);
        if (got.status !== 200) throw new Error(`${side}: status ${got.status}: ${got.text.slice(0, 200)}`);
        if (side !== "plain" && got.sessionId === null) throw new Error(`${side}: no session id`);
        const seen = await scenarioRequests(gemini.url, id, { min: attempts });
        if (seen.length !== attempts) throw new Error(`${side}: ${seen.length} upstream requests`);
        for (const request of seen) {
          const sent = request?.body?.contents?.[0]?.parts?.[0]?.text?.length ?? 0;
          if (sent !== BODY_MIB * 1024 * 1024)
            throw new Error(`${side}: the upstream received ${sent} characters`);
        }
        rows.push({
          round: r + 1,
          side,
          growth_mb: got.growth / MB,
          ratio: got.growth / bodyBytes,
          split: got.split,
        });
        log(
          `round ${r + 1} ${side}: +${(got.growth / MB).toFixed(1)} MB (${(got.growth / bodyBytes).toFixed(2)}× body)`,
        );
      }
    }
    const id = await registerScenario(gemini.url, { answer: "never" });
    rss.reset();
    const before = rssBytes(workerd.pid) ?? 0;
    const status = await announceOnly(
      `${workerd.gatewayUrl}/bench-gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`,
      BODY_CAP_BYTES + 1,
    );
    rows.push({
      round: "cap",
      side: "over the cap",
      status,
      growth_mb: Math.max(0, rss.peak() - before) / MB,
    });
  } finally {
    inspector?.close();
    sampler.stop();
    await workerd.stop();
    await gemini.close();
  }
  const worst = (side) => Math.max(...rows.filter((x) => x.side === side).map((x) => x.ratio));
  const protectedRatio = Math.max(worst("protected"), worst("continued"));
  const lines = [
    `body: ${(bodyBytes / MB).toFixed(1)} MB (${BODY_MIB} MiB prompt), ${ROUNDS} round(s), workerd RSS growth at peak`,
    ...rows.map((x) =>
      x.round === "cap"
        ? `  ${BODY_CAP_BYTES + 1}-byte body announced: status ${x.status} before any body byte, +${x.growth_mb.toFixed(1)} MB`
        : `  round ${x.round} ${x.side.padEnd(9)} +${x.growth_mb.toFixed(1).padStart(6)} MB  ${x.ratio.toFixed(2)}× body${splitText(x.split)}`,
    ),
    ...(warmMb === null
      ? []
      : [`  before round 1: a first session with a 16-byte prompt, +${warmMb.toFixed(1)} MB`]),
    `protected (continued or not), worst round: ${protectedRatio.toFixed(2)}× body (goal ≤ ${GOAL_RATIO}×: ${protectedRatio <= GOAL_RATIO ? "met" : "NOT met"})`,
    `plain preset, worst round: ${worst("plain").toFixed(2)}× body`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();

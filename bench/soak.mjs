/**
 * `npm run soak [-- --duration 60 --concurrency 200 --seed 1 | --short] [--strict-client-left]`: a bounded
 * chaos run against the gateway under plain `workerd serve` (the same harness as the bench: one process to
 * sample for memory, no wrangler dev proxy in between whose own failures could be mistaken for the gateway's).
 *
 * Concurrently, until the duration ends: `concurrency` Gemini streams (mock scenarios with cuts,
 * resets, in-band errors, 429/5xx, repeated tails), plain requests to a five-target endpoint (one
 * target dead from the start, one killed at a random moment, 503 bursts on another, per-request
 * 429/5xx/reset/cut/stall plans) and WebSocket sessions (closes with codes, resets, client closes).
 * Every random choice derives from the seed. Exits 1 on any violation.
 */
import { join } from "node:path";
import { TARGETS } from "./lib/chaos-mocks.mjs";
import { startMockProcess } from "./lib/mock-process.mjs";
import { geminiLoad } from "./lib/soak-gemini.mjs";
import { judgeBroken, lateAttempts, plainLoad } from "./lib/soak-plain.mjs";
import { probeSessions, settleHealth, summarize } from "./lib/soak-report.mjs";
import { checkClientCloses, wsLoad } from "./lib/soak-ws.mjs";
import { itemSeed, randomInt, seededRandom } from "./lib/stats.mjs";
import { REPO_DIR, rssSampler, startWorkerd } from "./lib/workerd.mjs";

const AUTH_TOKEN = "soak-token";
/**
 * The Gemini session's re-attach grace period (DEFAULT_GRACE_MS in gemini-session.ts) and the slack for an attempt
 * already in flight when a plain request's client left.
 */
const GRACE_MS = 15_000;
const LATE_SLACK_MS = 250;
/** How long a diagnostic re-attach to a stuck session may take. */
const REATTACH_WAIT_MS = 5000;
/** A session's grace timer runs in a busy isolate: allow it this much lateness before calling an attempt late. */
const GEMINI_TIMER_SLACK_MS = 1000;

function parseArgs(argv) {
  const short = argv.includes("--short");
  const opts = {
    duration: short ? 20 : 60,
    concurrency: short ? 100 : 200,
    seed: 1,
    short,
    strictClientLeft: argv.includes("--strict-client-left"),
  };
  for (let k = 0; k < argv.length; k++) {
    const name = argv[k].replace(/^--/, "");
    if (["duration", "concurrency", "seed"].includes(name)) {
      const value = Number(argv[++k]);
      if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer`);
      opts[name] = value;
    }
  }
  return opts;
}

const log = (line) => process.stderr.write(`soak: ${line}\n`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const plainConcurrency = Math.max(4, Math.round(opts.concurrency / 8));
  const wsConcurrency = Math.max(2, Math.round(opts.concurrency / 16));
  log(
    `duration ${opts.duration} s, ${opts.concurrency} Gemini streams, ${plainConcurrency} plain, ${wsConcurrency} WebSocket sessions, seed ${opts.seed}`,
  );
  const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/chaos-mocks.mjs"), "startSoakMocks");
  const control = `http://127.0.0.1:${mocks.controlPort}`;
  const geminiUrl = `http://127.0.0.1:${mocks.geminiPort}`;
  const endpoints = {
    "soak-multi": {
      targets: [
        ...TARGETS.map((t) => `http://127.0.0.1:${mocks.targetPorts[t]}`),
        `http://127.0.0.1:${mocks.deadPort}`,
      ],
      transport: "socket",
    },
    "soak-gemini": { targets: [geminiUrl], transport: "socket", gemini: true },
  };
  const workerd = await startWorkerd({
    vars: {
      AUTH_TOKEN,
      ALLOW_PRIVATE_TARGETS: "true",
      ENDPOINTS: JSON.stringify(endpoints),
      GEMINI_SPECIAL_HANDLING_ENABLED: "true",
      AGGRESSIVE_FALLBACK: "true",
    },
  });
  const rss = rssSampler(workerd.pid, 100);
  const gw = workerd.gatewayUrl;
  const wsBase = `${gw.replace("http:", "ws:")}/${AUTH_TOKEN}/ws/127.0.0.1:${mocks.wsPort}`;
  const register = async (spec) => {
    const res = await fetch(`${geminiUrl}/__scenarios`, { method: "POST", body: JSON.stringify(spec) });
    if (res.status !== 201) throw new Error(`Gemini scenario rejected: ${await res.text()}`);
    return (await res.json()).id;
  };
  const report = { opts, violations: [], skipped: {} };
  try {
    const probe = await probeSessions({ gw, register, wsBase });
    Object.assign(report.skipped, probe.skipped);
    const started = Date.now();
    const until = started + opts.duration * 1000;
    // Target-level chaos from the seed: 503 bursts on t2, t3 killed somewhere in the middle.
    const chaos = seededRandom(itemSeed(opts.seed, "chaos", 0));
    const timers = [];
    for (let k = 0; k < Math.max(2, Math.round(opts.duration / 15)); k++) {
      const at = randomInt(chaos, 0, opts.duration * 1000 - 3000);
      timers.push(
        setTimeout(() => fetch(`${control}/burst/t2?ms=${randomInt(chaos, 1000, 3000)}`).catch(() => {}), at),
      );
    }
    const killAt = randomInt(chaos, opts.duration * 300, opts.duration * 600);
    timers.push(setTimeout(() => fetch(`${control}/kill/t3`).catch(() => {}), killAt));
    report.chaos = { t3_killed_at_s: killAt / 1000 };

    const results = { gemini: [], plain: [], ws: [] };
    const loads = [
      plainLoad({
        url: `${gw}/soak-multi/soak`,
        concurrency: plainConcurrency,
        until,
        seed: opts.seed,
        results: results.plain,
      }),
    ];
    if (!report.skipped.gemini) {
      loads.push(
        geminiLoad({
          gatewayUrl: gw,
          endpoint: "soak-gemini",
          concurrency: opts.concurrency,
          until,
          seed: opts.seed,
          register,
          allowStall: false,
          results: results.gemini,
        }),
      );
    }
    if (!report.skipped.websocket)
      loads.push(
        wsLoad({ baseUrl: wsBase, concurrency: wsConcurrency, until, seed: opts.seed, results: results.ws }),
      );
    const progress = setInterval(
      () =>
        log(
          `${Math.round((Date.now() - started) / 1000)} s: ${results.gemini.length} streams, ${results.plain.length} requests, ${results.ws.length} sessions done; workerd RSS peak ${Math.round(rss.peak() / 1e6)} MB`,
        ),
      5000,
    );
    await Promise.all(loads);
    clearInterval(progress);
    for (const t of timers) clearTimeout(t);
    report.loadSeconds = (Date.now() - started) / 1000;

    // After the load: session counters first (once no session is active, no attempt is still to
    // come), then late attempts, close propagation, memory.
    report.health = await settleHealth(gw, AUTH_TOKEN, GRACE_MS + 15_000);
    const observed = await (await fetch(`${control}/observed`)).json();
    judgeBroken(results.plain, observed.plain);
    report.plainLate = lateAttempts(results.plain, observed.plain, LATE_SLACK_MS);
    report.geminiLate = await geminiLateAttempts(geminiUrl, results.gemini, GRACE_MS + GEMINI_TIMER_SLACK_MS);
    report.wsClientCloses = checkClientCloses(results.ws, observed.ws);
    await describeStuckStreams(gw, geminiUrl, results.gemini);
    report.results = results;
  } finally {
    report.workerdErrors = workerd.log
      .join("")
      .split("\n")
      .filter((l) => /Uncaught|error:/.test(l))
      .slice(-8);
    report.rssPeakMb = Math.round(rss.peak() / 1e5) / 10;
    rss.stop();
    await workerd.stop();
    await mocks.close();
  }
  const { text, violations } = summarize(report);
  process.stdout.write(`${text}\n`);
  process.exitCode = violations > 0 ? 1 : 0;
}

/** For streams whose client left: attempts the mock received after departure + grace + slack. */
/** Adds the mock's view of the attempts to every stream that did not end in time (for diagnosis). */
async function describeStuckStreams(gw, geminiUrl, results) {
  for (const r of results) {
    if (r.outcome !== "violation" || !r.detail.startsWith("no end")) continue;
    const { requests } = await (await fetch(`${geminiUrl}/__scenarios/${r.scenarioId}/requests`)).json();
    const attempts = requests
      .filter((q) => q.attempt)
      .map(
        (q) =>
          `${q.behavior}@+${q.receivedAt - r.started}ms→${q.end ?? "open"}${q.endedAt ? `@+${q.endedAt - r.started}ms` : ""}`,
      );
    r.detail += `; upstream attempts: ${attempts.join(", ") || "none"}`;
    if (r.sessionId) r.detail += `; re-attach from 0: ${await reattachSummary(gw, r)}`;
  }
}

/** What a fresh client gets from the session's own event log: tells a stuck session from a stuck delivery. */
async function reattachSummary(gw, r) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REATTACH_WAIT_MS);
  let text = "";
  let status = null;
  try {
    const res = await fetch(`${gw}/sessions/${r.sessionId}?from=0`, { signal: controller.signal });
    status = res.status;
    const decoder = new TextDecoder();
    for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
    clearTimeout(timer);
    return `status ${status}, ended, ${summarizeSse(text)}`;
  } catch {
    return `status ${status ?? "none"}, still open after ${REATTACH_WAIT_MS} ms, ${summarizeSse(text)}`;
  }
}

function summarizeSse(body) {
  let chars = 0;
  let finish = null;
  for (const line of body.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    try {
      const event = JSON.parse(line.slice(5));
      const cand = event.candidates?.[0];
      for (const part of cand?.content?.parts ?? [])
        if (!part.thought && part.text) chars += [...part.text].length;
      finish = cand?.finishReason ?? (event.choices?.[0]?.finish_reason || finish);
      for (const c of event.choices ?? []) if (c.delta?.content) chars += [...c.delta.content].length;
    } catch {}
  }
  return `${chars} chars, finish ${finish ?? "none"}`;
}

async function geminiLateAttempts(geminiUrl, results, allowedMs) {
  const left = results.filter((r) => r.outcome === "client_left");
  const logs = await Promise.all(
    left.map(
      async (r) => (await (await fetch(`${geminiUrl}/__scenarios/${r.scenarioId}/requests`)).json()).requests,
    ),
  );
  const late = [];
  left.forEach((r, k) => {
    for (const q of logs[k]) {
      if (q.attempt && q.receivedAt > r.abortAt + allowedMs) {
        late.push({ scenario: r.scenarioId, afterMs: q.receivedAt - r.abortAt });
      }
    }
  });
  return late;
}

main().catch((error) => {
  process.stderr.write(`soak failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

/**
 * Soak: plain POSTs to the multi-target endpoint. Every request's fate at the upstream is fixed by the
 * seed (`x-soak-plan`, see chaos-mocks.mjs); the client checks what it got against what is allowed:
 * a 200 whose body proves the target saw exactly our request body, the gateway's error JSON
 * (DESIGN §8), an upstream error passed through unchanged, or (only when the plan cut a response
 * mid-body) a transfer that visibly fails. Anything else is a violation.
 */
import { createHash } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { okBody, TARGETS } from "./chaos-mocks.mjs";
import { itemSeed, randomInt, seededRandom, weightedPick } from "./stats.mjs";

const REQUEST_DEADLINE_MS = 30_000;
const FAILURES = [
  [3, "503"],
  [2, "500"],
  [1, "502"],
  [3, "429"],
  [3, "reset"],
  [2, "reset-after-body"],
  [1, "cut"],
];

/** The plan for request `i`: behaviours per arrival, body size, response padding, client abort. */
export function planPlain(random, i) {
  const plan = [];
  const failures = weightedPick(random, [
    [50, 0],
    [25, 1],
    [15, 2],
    [10, 5],
  ]);
  for (let k = 0; k < failures; k++) plan.push(weightedPick(random, FAILURES));
  let abortAfterMs = null;
  if (random() < 0.08) {
    // The client gives up while the target stalls; the target then fails, which would make a
    // gateway that ignores the departure fail over to another target.
    plan.unshift(`stall:${randomInt(random, 600, 1200)}:503`);
    abortAfterMs = randomInt(random, 50, 400);
  } else if (random() < 0.1) {
    plan.push(`stall:${randomInt(random, 50, 800)}`);
  }
  plan.push("ok");
  return {
    id: `p${i}`,
    plan,
    bodyBytes: weightedPick(random, [
      [6, randomInt(random, 0, 2000)],
      [3, randomInt(random, 2000, 64 * 1024)],
      [1, randomInt(random, 64 * 1024, 512 * 1024)],
    ]),
    pad: randomInt(random, 0, 8000),
    abortAfterMs,
    seedByte: randomInt(random, 0, 255),
  };
}

function bodyFor(p) {
  const body = Buffer.alloc(p.bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = (p.seedByte + i * 31) & 0xff;
  return body;
}

function isGatewayErrorJson(status, headers, text) {
  if (!headers["x-proxy-error"]) return false;
  try {
    const e = JSON.parse(text).error;
    return e.code === status && typeof e.status === "string" && typeof e.message === "string";
  } catch {
    return false;
  }
}

function isUpstreamPassThrough(status, text) {
  try {
    const body = JSON.parse(text);
    return body.chaos === true && body.error?.code === status;
  } catch {
    return false;
  }
}

/** Runs one planned request through the gateway; resolves with `{ outcome, detail?, abortAt? }`. */
export function runPlain(url, agent, p) {
  const body = bodyFor(p);
  const sha = createHash("sha256").update(body).digest("hex");
  return new Promise((resolve) => {
    const controller = new AbortController();
    let abortAt = null;
    let settled = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(abortTimer);
      resolve({ ...result, abortAt });
    };
    const deadline = setTimeout(() => {
      done({ outcome: "violation", detail: `no answer within ${REQUEST_DEADLINE_MS} ms` });
      controller.abort();
    }, REQUEST_DEADLINE_MS);
    const abortTimer =
      p.abortAfterMs === null
        ? null
        : setTimeout(() => {
            abortAt = Date.now();
            controller.abort();
            done({ outcome: "client_left" });
          }, p.abortAfterMs);
    const req = httpRequest(
      url,
      {
        agent,
        method: "POST",
        signal: controller.signal,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(body.length),
          "x-soak-id": p.id,
          "x-soak-plan": p.plan.join(","),
          "x-soak-pad": String(p.pad),
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", () => {});
        res.on("aborted", () => {});
        res.on("close", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode;
          if (!res.complete) {
            return done({
              outcome: "broken",
              detail: `response ${status} broke off after ${text.length} bytes`,
            });
          }
          if (status === 200) {
            const target = res.headers["x-proxy-target"];
            const ok = TARGETS.some((t) => text === okBody(t, p.id, sha, p.pad));
            return done(
              ok
                ? { outcome: "ok" }
                : {
                    outcome: "violation",
                    detail: `200 with a wrong body: ${text.slice(0, 160)}${target ?? ""}`,
                  },
            );
          }
          if (isGatewayErrorJson(status, res.headers, text))
            return done({ outcome: "error_json", reason: res.headers["x-proxy-error"] });
          if (isUpstreamPassThrough(status, text)) return done({ outcome: "upstream_error" });
          done({ outcome: "violation", detail: `${status} without the error JSON: ${text.slice(0, 200)}` });
        });
      },
    );
    req.on("error", (error) => {
      if (abortAt !== null) return;
      done({ outcome: "broken", detail: `request failed without a response: ${error.message}` });
    });
    req.end(body);
  });
}

/** Keeps `concurrency` planned requests in flight until `until` (epoch ms); returns every result. */
export async function plainLoad({ url, concurrency, until, seed, results }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const i = next++;
      const p = planPlain(seededRandom(itemSeed(seed, "plain", i)), i);
      const started = Date.now();
      const result = await runPlain(url, agent, p);
      results.push({ id: p.id, plan: p.plan, started, ...result });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return results;
}

/**
 * The upstream arrivals of requests whose client left: any arrival later than `slackMs` after the
 * client's departure is an attempt the gateway started for nobody.
 */
export function lateAttempts(results, arrivals, slackMs) {
  const late = [];
  for (const r of results) {
    if (r.outcome !== "client_left" || r.abortAt === null) continue;
    for (const a of arrivals[r.id] ?? []) {
      if (a.at > r.abortAt + slackMs) late.push({ id: r.id, target: a.target, afterMs: a.at - r.abortAt });
    }
  }
  return late;
}

/**
 * A broken transfer (no response, or a body that broke off) is allowed only when the upstream answer
 * the gateway relayed was itself cut mid-body (the plan's `cut` at that request's last arrival): the
 * gateway cannot replay once it has committed to a response, and the client does see the failure.
 * Otherwise it becomes a violation.
 */
export function judgeBroken(results, arrivals) {
  for (const r of results) {
    if (r.outcome !== "broken") continue;
    const last = (arrivals[r.id] ?? []).at(-1);
    if (last?.behaviour === "cut") r.outcome = "cut_visible";
    else r.outcome = "violation";
    r.detail = `${r.detail} (last upstream behaviour: ${last?.behaviour ?? "none"})`;
  }
}

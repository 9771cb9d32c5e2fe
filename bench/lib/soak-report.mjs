/** The soak's probes, end-of-run checks and printed summary. */
import { WebSocket } from "ws";

/** Which session routes the gateway serves; a route it does not serve is skipped, not faked. */
export async function probeSessions({ gw, register, wsBase }) {
  const skipped = {};
  const id = await register({ answer: "probe answer" });
  const res = await fetch(`${gw}/soak-gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "probe" }] }] }),
  });
  await res.arrayBuffer();
  if (!res.headers.get("x-proxy-session-id")) {
    skipped.gemini = `Gemini streams are not protected by the gateway yet (status ${res.status}, no x-proxy-session-id)`;
  }
  const wsProbe = await new Promise((resolve) => {
    const ws = new WebSocket(`${wsBase}/s/probe?n=1&end=close:1000`);
    ws.on("open", () => ws.send("probe"));
    ws.on("close", () => resolve(null));
    ws.on("error", () => {});
    ws.on("unexpected-response", (_req, r) => {
      r.resume();
      resolve(`the gateway answered the WebSocket upgrade with ${r.statusCode}`);
    });
  });
  if (wsProbe) skipped.websocket = wsProbe;
  return { skipped };
}

const HEALTH_REQUEST_TIMEOUT_MS = 10_000;

/** Polls `/health` until no Gemini or WebSocket session is active (or `timeoutMs` passes). */
export async function settleHealth(gw, token, timeoutMs) {
  const started = Date.now();
  let sessions = null;
  while (Date.now() - started < timeoutMs) {
    let res;
    let text;
    try {
      res = await fetch(`${gw}/health`, {
        headers: { "x-proxy-token": token },
        signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (error) {
      return {
        settled: false,
        waitedMs: Date.now() - started,
        sessions: `/health did not answer within ${HEALTH_REQUEST_TIMEOUT_MS} ms (${error.name})`,
      };
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return {
        settled: false,
        waitedMs: Date.now() - started,
        sessions: `/health answered ${res.status}: ${text.slice(0, 200)}`,
      };
    }
    sessions = body.sessions ?? null;
    if (sessions && (sessions.gemini?.active ?? 0) === 0 && (sessions.websocket?.active ?? 0) === 0) {
      return { settled: true, waitedMs: Date.now() - started, sessions };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { settled: false, waitedMs: Date.now() - started, sessions };
}

const countBy = (list, key) => {
  const out = {};
  for (const item of list) out[item[key]] = (out[item[key]] ?? 0) + 1;
  return out;
};

export function summarize(report) {
  const { results = { gemini: [], plain: [], ws: [] }, opts } = report;
  const violations = [];
  const add = (kind, detail) => violations.push(`${kind}: ${detail}`);
  for (const r of results.gemini)
    if (r.outcome === "violation") add("gemini", `stream ${r.i} (${r.format}, ${r.scenarioId}): ${r.detail}`);
  for (const r of results.plain)
    if (r.outcome === "violation") add("plain", `${r.id} [${r.plan.join(",")}]: ${r.detail}`);
  for (const r of results.ws)
    if (r.outcome === "violation") add("websocket", `${r.id} (${r.end}): ${r.detail}`);
  // workerd does not tell a Worker that its client left before the Worker answers
  // (bench/repro/request-signal.mjs), so no gateway can avoid these under `workerd serve`: warnings unless
  // --strict-client-left asks for a platform that does.
  const plainLate = (report.plainLate ?? []).map(
    (l) => `${l.id}: upstream attempt on ${l.target} ${l.afterMs} ms after the client left`,
  );
  if (opts.strictClientLeft) for (const l of plainLate) add("plain", l);
  for (const l of report.geminiLate ?? [])
    add("gemini", `${l.scenario}: upstream attempt ${l.afterMs} ms after the client left`);
  for (const c of report.wsClientCloses ?? [])
    add("websocket", `${c.id}: client closed ${c.sent}, upstream saw ${c.upstreamSaw}`);
  if (report.health && !report.health.settled) {
    add("health", `active sessions did not return to 0: ${JSON.stringify(report.health.sessions)}`);
  }
  const lines = [
    `Soak: ${opts.duration} s, ${opts.concurrency} concurrent Gemini streams, seed ${opts.seed}${opts.short ? " (short)" : ""}`,
    `Gemini streams: ${
      report.skipped.gemini
        ? `SKIPPED: ${report.skipped.gemini}`
        : `${results.gemini.length} ${JSON.stringify(countBy(results.gemini, "outcome"))}; native SSE ${JSON.stringify(
            countBy(
              results.gemini.filter((r) => r.format === "sse"),
              "outcome",
            ),
          )}, OpenAI-compatible ${JSON.stringify(
            countBy(
              results.gemini.filter((r) => r.format === "openai"),
              "outcome",
            ),
          )}`
    }`,
    `Plain requests: ${results.plain.length} ${JSON.stringify(countBy(results.plain, "outcome"))}`,
    `WebSocket sessions: ${report.skipped.websocket ? `SKIPPED: ${report.skipped.websocket}` : `${results.ws.length} ${JSON.stringify(countBy(results.ws, "outcome"))}`}`,
    `Late upstream attempts after the client left: Gemini ${report.geminiLate?.length ?? "–"}, plain ${plainLate.length}${opts.strictClientLeft ? "" : " (warning only: workerd serve does not signal a client that left before the answer; --strict-client-left counts them)"}`,
    ...(!opts.strictClientLeft && plainLate.length > 0
      ? [`  warnings (first 5): ${plainLate.slice(0, 5).join("; ")}`]
      : []),
    `/health active sessions at the end: ${report.health ? `${JSON.stringify(report.health.sessions)} after ${report.health.waitedMs} ms` : "–"}`,
    `workerd peak RSS: ${report.rssPeakMb} MB`,
    violations.length === 0 ? "PASS: no violations" : `FAIL: ${violations.length} violation(s)`,
    ...violations.slice(0, 40).map((v) => `  - ${v}`),
    ...(violations.length > 40 ? [`  … ${violations.length - 40} more`] : []),
    ...(violations.length > 0 && report.workerdErrors?.length
      ? ["workerd log (last error lines):", ...report.workerdErrors.map((l) => `  ${l.slice(0, 300)}`)]
      : []),
  ];
  return { text: lines.join("\n"), violations: violations.length };
}

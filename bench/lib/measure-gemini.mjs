/**
 * Gemini session measurements for issue 13: the time to first event of a protected stream (through its
 * `GeminiSession`) against the same stream through a plain socket preset and direct, and the peak
 * memory workerd needs per protected request, for small bodies (many sessions at once) and for one
 * 24 MiB body.
 */
import { keepAliveAgent, postStream } from "./client.mjs";
import { registerScenario, scenarioRequests } from "./gemini-mock.mjs";
import { median, percentile, round } from "./stats.mjs";

const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);
const streamPath = (model) => `/v1beta/models/${model}:streamGenerateContent?alt=sse`;
const promptBody = (text) => JSON.stringify({ contents: [{ role: "user", parts: [{ text }] }] });

/**
 * POSTs `body` and reads the SSE answer. Resolves with the time to the first `data:` event, the
 * total time, the status, the session id header and whether the stream ended with `STOP`.
 */
export async function streamOnce(url, body, agent) {
  let firstEventMs = null;
  let text = "";
  const { status, headers, totalMs } = await postStream(url, body, {
    agent,
    onChunk: (chunk, atMs) => {
      text += chunk;
      if (firstEventMs === null && text.includes("data:")) firstEventMs = atMs;
    },
  });
  return {
    status,
    firstEventMs,
    totalMs,
    sessionId: headers["x-proxy-session-id"] ?? null,
    stopped: text.includes('"STOP"'),
    text,
  };
}

/**
 * Time to first event of one short Gemini stream, interleaved round by round over `sides`
 * (`{ direct, plain, session }` base URLs: the mock, a socket preset without the engine, and the
 * protected route). Each request names a fresh scenario, so every session is a new object.
 */
export async function geminiFirstEvent({ sides, geminiMockUrl, rounds, perRound }) {
  const names = Object.keys(sides);
  const agents = Object.fromEntries(names.map((n) => [n, keepAliveAgent(1)]));
  const answer = "A short answer streamed in a few events to time the first one.";
  const spec = { answer, chunkChars: 16 };
  const body = promptBody("Say something short.");
  const run = async (name) => {
    const id = await registerScenario(geminiMockUrl, spec);
    const got = await streamOnce(`${sides[name]}${streamPath(id)}`, body, agents[name]);
    if (got.status !== 200 || !got.stopped) {
      throw new Error(`Gemini first event: ${name} answered ${got.status}: ${got.text.slice(0, 300)}`);
    }
    if (name === "session" && got.sessionId === null) throw new Error("the protected route ran no session");
    if (name === "plain" && got.sessionId !== null) throw new Error("the plain preset ran a session");
    return got.firstEventMs;
  };
  for (const name of names) for (let i = 0; i < 3; i++) await run(name);
  const perSide = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of rotate(names, r)) {
      const times = [];
      for (let i = 0; i < perRound; i++) times.push(await run(name));
      perSide[name].push(percentile(times, 50));
    }
  }
  for (const agent of Object.values(agents)) agent.destroy();
  const p50 = Object.fromEntries(names.map((n) => [n, median(perSide[n])]));
  return {
    requests_per_side: rounds * perRound,
    first_event_ms_p50: Object.fromEntries(names.map((n) => [n, round(p50[n], 3)])),
    session_minus_plain_ms: round(p50.session - p50.plain, 3),
    plain_minus_direct_ms: round(p50.plain - p50.direct, 3),
    session_minus_direct_ms: round(p50.session - p50.direct, 3),
  };
}

/**
 * Peak memory per protected request. Small bodies: `concurrency` sessions held open at once (each
 * answer streams for about half a second), peak RSS growth ÷ sessions. Large: one request whose prompt
 * is `largeBytes` of text at a time, peak RSS growth ÷ body size (the worst of `rounds`; the first
 * round also pays the heap's growth, later rounds may reuse it).
 */
export async function protectedMemory({ sessionBase, geminiMockUrl, rss, concurrency, largeBytes, rounds }) {
  const smallSpec = { answer: "x".repeat(400), chunkChars: 16, chunkDelayMs: 20 };
  const smallBody = promptBody("A small protected request.");
  const smallPerRequest = [];
  for (let r = 0; r < rounds; r++) {
    const ids = await Promise.all(
      Array.from({ length: concurrency }, () => registerScenario(geminiMockUrl, smallSpec)),
    );
    const agent = keepAliveAgent(concurrency);
    rss.reset();
    const before = rss.peak();
    const results = await Promise.all(
      ids.map((id) => streamOnce(`${sessionBase}${streamPath(id)}`, smallBody, agent)),
    );
    const peak = rss.peak();
    agent.destroy();
    const bad = results.filter((x) => x.status !== 200 || !x.stopped || x.sessionId === null);
    if (bad.length > 0) throw new Error(`protected memory: ${bad.length} small sessions failed`);
    smallPerRequest.push((peak - before) / concurrency);
  }
  const largeRatios = [];
  const largeDeltas = [];
  const largeText = "a".repeat(largeBytes);
  const largeBody = promptBody(largeText);
  for (let r = 0; r < rounds; r++) {
    const id = await registerScenario(geminiMockUrl, { answer: "ok, a large prompt", chunkChars: 16 });
    const agent = keepAliveAgent(1);
    rss.reset();
    const before = rss.peak();
    const got = await streamOnce(`${sessionBase}${streamPath(id)}`, largeBody, agent);
    const peak = rss.peak();
    agent.destroy();
    if (got.status !== 200 || !got.stopped || got.sessionId === null) {
      throw new Error(
        `protected memory: the ${largeBytes}-byte request answered ${got.status}: ${got.text.slice(0, 300)}`,
      );
    }
    const seen = await scenarioRequests(geminiMockUrl, id, { min: 1 });
    const sent = seen[0]?.body?.contents?.[0]?.parts?.[0]?.text?.length ?? 0;
    if (sent !== largeBytes)
      throw new Error(`protected memory: the upstream received ${sent} of ${largeBytes} characters`);
    largeDeltas.push(peak - before);
    largeRatios.push((peak - before) / Buffer.byteLength(largeBody));
  }
  return {
    small: {
      concurrent_sessions: concurrency,
      peak_rss_per_request_kb_p50: round(median(smallPerRequest) / 1024, 1),
      peak_rss_per_request_kb_max: round(Math.max(...smallPerRequest) / 1024, 1),
    },
    large: {
      body_bytes: Buffer.byteLength(largeBody),
      peak_rss_growth_mb_max: round(Math.max(...largeDeltas) / 1e6, 1),
      peak_rss_growth_mb_p50: round(median(largeDeltas) / 1e6, 1),
      ratio_to_body_max: round(Math.max(...largeRatios), 2),
      ratio_to_body_p50: round(median(largeRatios), 2),
    },
  };
}

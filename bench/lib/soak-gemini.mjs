/**
 * Soak: streaming Gemini generations through the gateway against the project's Gemini mock. Each
 * stream gets its own scenario (ground-truth answer with multi-byte text, random cuts, resets, in-band
 * errors, 429/5xx, repeated tails on continuations), fixed by the seed. The client joins the answer
 * text it received and classifies the end: complete (finishReason STOP, text identical to the ground
 * truth), explicit failure (an in-band error event or a non-STOP finishReason, text a prefix of the
 * ground truth), or a violation (silent end, broken transfer, duplicated/missing characters).
 */
import { Agent, request as httpRequest } from "node:http";
import { classifyOpenAIStream, openAIRequest } from "./soak-openai.mjs";
import { textDiff } from "./soak-text.mjs";
import { itemSeed, randomInt, seededRandom, weightedPick } from "./stats.mjs";

export { textDiff };

const STREAM_DEADLINE_MS = 60_000;
/** Share of streams sent to the OpenAI-compatible route instead of native SSE. */
const OPENAI_SHARE = 0.2;
// Words and scripts mixed, each token made unique by a running number: real answers rarely repeat
// themselves at a cut, and a low-entropy text would make every overlap ambiguous for any aligner.
const WORDS = [
  "gateway",
  "stream",
  "token",
  "数据流",
  "传输",
  "テスト",
  "한국어",
  "naïve",
  "Straße",
  "café",
  "🙂",
  "👩‍💻",
  "— ",
  "\n",
];
const FAILURES = [
  [3, { kind: "cut" }],
  [2, { kind: "cut-in-event" }],
  [2, { kind: "cut-in-char" }],
  [2, { kind: "reset" }],
  [2, { kind: "error-event", status: 503 }],
  [1, { kind: "http-error", status: 429, retryDelaySec: 1 }],
  [1, { kind: "http-error", status: 503 }],
  [1, { kind: "http-error", status: 500 }],
];

function answerText(random, codePoints) {
  let out = [];
  for (let k = 0; out.length < codePoints; k++) {
    const word = WORDS[randomInt(random, 0, WORDS.length - 1)];
    out = out.concat([...`${word}${k.toString(36)} `]);
  }
  return out.slice(0, codePoints).join("");
}

/** The scenario for stream `i` (the mock's scenario JSON) and the client's behaviour. */
export function planGemini(random, i, { allowStall }) {
  const length = randomInt(random, 80, 700);
  const answer = answerText(random, length);
  const failures = weightedPick(random, [
    [35, 0],
    [35, 1],
    [20, 2],
    [10, 3],
  ]);
  const kinds = allowStall ? [...FAILURES, [2, { kind: "stall" }]] : FAILURES;
  const attempts = [];
  for (let k = 0; k < failures; k++) {
    const failure = { ...weightedPick(random, kinds) };
    if (failure.kind !== "http-error") failure.afterChars = randomInt(random, 0, length - 1);
    attempts.push(failure);
  }
  attempts.push({ kind: "complete" });
  // Continuations that repeat the tail of the partial answer: the gateway must not duplicate it.
  for (const a of attempts.slice(1)) if (random() < 0.25) a.repeatTail = randomInt(random, 12, 40);
  const hopeless = random() < 0.05;
  const scenario = {
    answer,
    chunkChars: randomInt(random, 3, 24),
    chunkDelayMs: randomInt(random, 5, 40),
    ...(random() < 0.15 ? { thought: answerText(random, randomInt(random, 20, 120)) } : {}),
    ...(random() < 0.1 ? { splitWriteBytes: randomInt(random, 1, 7) } : {}),
    // A hopeless stream is cut on every attempt: it must end with an explicit failure.
    attempts: hopeless ? [] : attempts,
    defaultAttempt: hopeless ? { kind: "cut", afterChars: 10 } : { kind: "complete" },
  };
  const leaves = random() < 0.05 ? randomInt(random, 100, 1500) : null;
  return { i, answer, scenario, leaveAfterMs: leaves, hopeless };
}

function parseEvents(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n|\r\r/)) {
    const data = block
      .split(/\r?\n|\r/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (data === "") continue;
    try {
      events.push(JSON.parse(data));
    } catch {
      events.push({ unparsable: data });
    }
  }
  return events;
}

/** Classifies a finished SSE body against the ground truth. */
export function classifyGeminiStream(plan, status, headers, body, complete) {
  if (status !== 200) {
    try {
      const e = JSON.parse(body).error;
      if (typeof e.code === "number" && typeof e.message === "string")
        return { outcome: "failed_before_stream" };
    } catch {}
    return { outcome: "violation", detail: `${status} without an error JSON: ${body.slice(0, 200)}` };
  }
  const events = parseEvents(body);
  let text = "";
  let finish = null;
  let errorEvent = null;
  for (const ev of events) {
    if (ev.error) errorEvent = ev.error;
    const cand = ev.candidates?.[0];
    for (const part of cand?.content?.parts ?? [])
      if (!part.thought && typeof part.text === "string") text += part.text;
    if (cand?.finishReason) finish = cand.finishReason;
    if (ev.unparsable !== undefined)
      return { outcome: "violation", detail: `unparsable event: ${ev.unparsable.slice(0, 120)}` };
  }
  const protectedStream = headers["x-proxy-session-id"] !== undefined;
  const seen = { protectedStream, text };
  if (!complete)
    return {
      outcome: "violation",
      detail: "the response broke off without an in-band failure",
      ...seen,
    };
  if (finish === "STOP" && errorEvent === null) {
    if (text === plan.answer) return { outcome: "complete", ...seen };
    return {
      outcome: "violation",
      detail: `STOP with wrong text ${JSON.stringify(textDiff(plan.answer, text))}`,
      ...seen,
    };
  }
  if (errorEvent !== null || (finish !== null && finish !== "STOP")) {
    if (plan.answer.startsWith(text)) return { outcome: "failed_in_band", ...seen };
    return {
      outcome: "violation",
      detail: `in-band failure after wrong text ${JSON.stringify(textDiff(plan.answer, text))}`,
      ...seen,
    };
  }
  return {
    outcome: "violation",
    detail: `silent truncation: clean end without finishReason after ${[...text].length}/${[...plan.answer].length} chars`,
    ...seen,
  };
}

/** Streams one planned generation through the gateway. */
export function runGemini(gatewayUrl, endpoint, agent, plan, scenarioId) {
  const prefix = endpoint ? `/${endpoint}` : "";
  const openai = plan.format === "openai";
  const url = openai
    ? `${gatewayUrl}${prefix}/v1beta/openai/chat/completions`
    : `${gatewayUrl}${prefix}/v1beta/models/${scenarioId}:streamGenerateContent?alt=sse`;
  const body = openai
    ? openAIRequest(scenarioId, plan.i)
    : JSON.stringify({ contents: [{ role: "user", parts: [{ text: `soak question ${plan.i}` }] }] });
  const classify = openai ? classifyOpenAIStream : classifyGeminiStream;
  return new Promise((resolve) => {
    const controller = new AbortController();
    let abortAt = null;
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(leave);
      resolve({ ...r, abortAt });
    };
    let response = null;
    const received = [];
    const deadline = setTimeout(() => {
      // What had arrived by then tells a stream that stopped early from one that never closed.
      let seen = "no response head";
      if (response !== null) {
        const got = classify(
          plan,
          response.statusCode,
          response.headers,
          Buffer.concat(received).toString("utf8"),
          true,
        );
        seen = `status ${response.statusCode}, ${[...(got.text ?? "")].length}/${[...plan.answer].length} chars, as if closed now: ${got.outcome}`;
      }
      const sessionId = response?.headers["x-proxy-session-id"] ?? null;
      done({ outcome: "violation", detail: `no end within ${STREAM_DEADLINE_MS} ms (${seen})`, sessionId });
      controller.abort();
    }, STREAM_DEADLINE_MS);
    const leave =
      plan.leaveAfterMs === null
        ? null
        : setTimeout(() => {
            abortAt = Date.now();
            controller.abort();
            done({ outcome: "client_left" });
          }, plan.leaveAfterMs);
    const req = httpRequest(
      url,
      { agent, method: "POST", signal: controller.signal, headers: { "content-type": "application/json" } },
      (res) => {
        response = res;
        const chunks = received;
        res.on("data", (c) => chunks.push(c));
        res.on("error", () => {});
        res.on("close", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          done(classify(plan, res.statusCode, res.headers, text, res.complete));
        });
      },
    );
    req.on("error", (error) => {
      if (abortAt === null)
        done({ outcome: "violation", detail: `request failed without a response: ${error.message}` });
    });
    req.end(body);
  });
}

/** Keeps `concurrency` streams in flight until `until`; `register(spec)` creates the mock scenario. */
export async function geminiLoad({
  gatewayUrl,
  endpoint,
  concurrency,
  until,
  seed,
  register,
  allowStall,
  results,
}) {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  let next = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const i = next++;
      const plan = planGemini(seededRandom(itemSeed(seed, "gemini", i)), i, { allowStall });
      // Its own generator, so adding formats does not change the scenarios of earlier seeds.
      plan.format = seededRandom(itemSeed(seed, "gemini-format", i))() < OPENAI_SHARE ? "openai" : "sse";
      const scenarioId = await register(plan.scenario);
      const started = Date.now();
      const result = await runGemini(gatewayUrl, endpoint, agent, plan, scenarioId);
      results.push({
        i,
        format: plan.format,
        scenarioId,
        hopeless: plan.hopeless,
        started,
        ended: Date.now(),
        ...result,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return results;
}

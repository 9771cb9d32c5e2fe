/**
 * The session measurements: Gemini repair (upstream cut → first continued byte at the client) and the
 * WebSocket relay's round trip. Each first probes whether the gateway serves the route at all; if not
 * it returns `{ skipped: "<why>" }` and nothing is made up.
 */
import { openWebSocket, wsRoundTrips } from "./client.mjs";
import { registerScenario, scenarioRequests } from "./gemini-mock.mjs";
import { median, percentile, round } from "./stats.mjs";

const GROUND_TRUTH = (() => {
  const words = [];
  for (let i = 0; words.join(" ").length < 900; i++) words.push(`word${i}`);
  return `${words.join(" ")}.`;
})();
const CUT_AFTER_CHARS = 300;

/** Streams a Gemini SSE response, collecting the answer text and each event's wall-clock arrival. */
async function readGeminiStream(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const events = [];
  const decoder = new TextDecoder();
  let buffer = "";
  let text = "";
  for await (const chunk of res.body) {
    const at = Date.now();
    buffer += decoder.decode(chunk, { stream: true });
    let cut = buffer.search(/\r?\n\r?\n/);
    while (cut >= 0) {
      const raw = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      const data = raw.replace(/^data: ?/, "");
      try {
        const event = JSON.parse(data);
        const parts = event.candidates?.[0]?.content?.parts ?? [];
        for (const part of parts) if (!part.thought && typeof part.text === "string") text += part.text;
        events.push({ at, chars: [...text].length, event });
      } catch {
        events.push({ at, chars: [...text].length, raw: data });
      }
      cut = buffer.search(/\r?\n\r?\n/);
    }
  }
  return { status: res.status, headers: res.headers, events, text };
}

/**
 * Gemini repair: the mock cuts the first attempt cleanly (no finishReason) after `CUT_AFTER_CHARS`; the
 * gateway must continue it. Measured from the mock's end of the cut response to the first event at the
 * client that carries text beyond the cut, split into "cut → continuation request reaches upstream"
 * and the rest. Both clocks are Date.now() in this process (the mock runs in-process), so ms resolution.
 */
export async function geminiRepair({ gatewayUrl, geminiMockUrl, endpoint, rounds }) {
  const request = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Write a long answer." }] }] });
  const probeId = await registerScenario(geminiMockUrl, { answer: "probe answer", chunkChars: 8 });
  const probe = await readGeminiStream(
    `${gatewayUrl}/${endpoint}/v1beta/models/${probeId}:streamGenerateContent?alt=sse`,
    request,
  );
  if (probe.headers.get("x-proxy-session-id") === null) {
    return {
      skipped: `the gateway does not run Gemini streams through GeminiSession (no x-proxy-session-id; status ${probe.status})`,
    };
  }
  const total = [];
  const reconnect = [];
  let wrong = 0;
  for (let r = 0; r < rounds; r++) {
    const id = await registerScenario(geminiMockUrl, {
      answer: GROUND_TRUTH,
      chunkChars: 12,
      chunkDelayMs: 5,
      attempts: [{ kind: "cut", afterChars: CUT_AFTER_CHARS }, { kind: "complete" }],
    });
    const got = await readGeminiStream(
      `${gatewayUrl}/${endpoint}/v1beta/models/${id}:streamGenerateContent?alt=sse`,
      request,
    );
    const log = await scenarioRequests(geminiMockUrl, id, { min: 2 });
    const cut = log.find((q) => q.attempt === 1);
    const second = log.find((q) => q.attempt === 2);
    const firstContinued = got.events.find((e) => e.chars > CUT_AFTER_CHARS);
    if (got.text !== GROUND_TRUTH || !cut?.endedAt || !second || !firstContinued) {
      wrong++;
      continue;
    }
    total.push(firstContinued.at - cut.endedAt);
    reconnect.push(second.receivedAt - cut.endedAt);
  }
  if (total.length === 0)
    return { skipped: `no round produced a repaired stream equal to the ground truth (${wrong} wrong)` };
  return {
    rounds: total.length,
    wrong_streams: wrong,
    cut_to_first_continued_byte_ms_p50: round(median(total), 1),
    cut_to_first_continued_byte_ms_max: round(Math.max(...total), 1),
    cut_to_continuation_request_ms_p50: round(median(reconnect), 1),
  };
}

/** WebSocket round trip per 64-byte text message, relayed vs direct, interleaved in rounds. */
export async function webSocketRoundTrip({ directUrl, gatewayUrl, rounds, perRound }) {
  let relayed;
  try {
    relayed = await openWebSocket(gatewayUrl);
  } catch (error) {
    return { skipped: `the gateway does not relay WebSockets yet (${error.message})` };
  }
  const direct = await openWebSocket(directUrl);
  const sides = { direct, gateway: relayed };
  const p50 = { direct: [], gateway: [] };
  const p99 = { direct: [], gateway: [] };
  await wsRoundTrips(direct, 20);
  await wsRoundTrips(relayed, 20);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["direct", "gateway"] : ["gateway", "direct"];
    for (const name of order) {
      const times = await wsRoundTrips(sides[name], perRound);
      p50[name].push(percentile(times, 50));
      p99[name].push(percentile(times, 99));
    }
  }
  direct.close();
  relayed.close();
  const d50 = median(p50.direct);
  const g50 = median(p50.gateway);
  return {
    messages: rounds * perRound,
    direct_rtt_p50_ms: round(d50, 3),
    gateway_rtt_p50_ms: round(g50, 3),
    direct_rtt_p99_ms: round(median(p99.direct), 3),
    gateway_rtt_p99_ms: round(median(p99.gateway), 3),
    ratio_p50: round(g50 / d50, 2),
    added_p50_ms: round(g50 - d50, 3),
  };
}

/**
 * Soak: the OpenAI-compatible face of the Gemini engine (`/v1beta/openai/chat/completions` with
 * `stream: true`). Complete means `finish_reason: "stop"`, then `data: [DONE]`, and content identical to
 * the ground truth. An explicit failure is an in-band `{"error": …}` event (or a non-stop finish reason)
 * after content that is a prefix of the ground truth. A stream that just ends is a silent truncation.
 */
import { textDiff } from "./soak-text.mjs";

function events(body) {
  const out = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (data === "") continue;
    if (data === "[DONE]") out.push({ done: true });
    else {
      try {
        out.push(JSON.parse(data));
      } catch {
        out.push({ unparsable: data });
      }
    }
  }
  return out;
}

export const openAIRequest = (scenarioId, i) =>
  JSON.stringify({
    model: scenarioId,
    stream: true,
    messages: [{ role: "user", content: `soak question ${i}` }],
  });

export function classifyOpenAIStream(plan, status, headers, body, complete) {
  if (status !== 200) {
    try {
      const e = JSON.parse(body).error;
      if (typeof e.message === "string") return { outcome: "failed_before_stream" };
    } catch {}
    return { outcome: "violation", detail: `openai: ${status} without an error JSON: ${body.slice(0, 200)}` };
  }
  let text = "";
  let finish = null;
  let error = null;
  let done = false;
  for (const ev of events(body)) {
    if (ev.unparsable !== undefined)
      return { outcome: "violation", detail: `openai: unparsable event ${ev.unparsable.slice(0, 120)}` };
    if (ev.done) done = true;
    if (ev.error) error = ev.error;
    const choice = ev.choices?.[0];
    if (typeof choice?.delta?.content === "string") text += choice.delta.content;
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  const seen = { protectedStream: headers["x-proxy-session-id"] !== undefined, text };
  if (!complete)
    return {
      outcome: "violation",
      detail: "openai: the response broke off without an in-band failure",
      ...seen,
    };
  if (finish === "stop" && error === null) {
    if (!done) return { outcome: "violation", detail: "openai: finish_reason stop but no [DONE]", ...seen };
    if (text === plan.answer) return { outcome: "complete", ...seen };
    return {
      outcome: "violation",
      detail: `openai: stop with wrong text ${JSON.stringify(textDiff(plan.answer, text))}`,
      ...seen,
    };
  }
  if (error !== null || (finish !== null && finish !== "stop")) {
    if (plan.answer.startsWith(text)) return { outcome: "failed_in_band", ...seen };
    return {
      outcome: "violation",
      detail: `openai: failure after wrong text ${JSON.stringify(textDiff(plan.answer, text))}`,
      ...seen,
    };
  }
  return {
    outcome: "violation",
    detail: `openai: silent truncation after ${[...text].length}/${[...plan.answer].length} chars`,
    ...seen,
  };
}

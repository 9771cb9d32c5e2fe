/**
 * Which requests the stream integrity guard watches (issue 12), and how it plugs into the failover
 * dispatcher (`failover.ts`) as a response inspector.
 *
 * Guarded: `POST …/chat/completions`, `…/completions`, `…/responses` and `…/messages` whose request
 * asks for a stream (`"stream": true`, read in place from the body buffered for failover), on every
 * endpoint that is not a Gemini one (Gemini streams have their own engine). A request whose body was
 * too large to buffer is guarded when its answer is `text/event-stream`.
 *
 * Outcomes: a guarded attempt's health report waits for the stream's end: `success` when it finished
 * (or the client left), `stream_cut` when it was truncated or stalled, `stream_error` when the upstream
 * sent an in-band error; before or after commit alike.
 */
import { anthropicMessagesStream } from "../../anthropic/messages-stream";
import { openaiChatStream } from "../../openai/chat-stream";
import { openaiResponsesStream } from "../../openai/responses-stream";
import type { StreamGuardConfig } from "../../stream/guard-config";
import { streamFlagOf } from "../../stream/request-stream-flag";
import type { StreamFormat } from "../../stream/stream-format";
import { type GuardEnd, guardStream } from "../../stream/stream-guard";
import { responseCoding } from "../../transport/content-coding";
import { ClientClosedError } from "../../transport/errors";
import type { OutcomeKind } from "../health/health-policy";
import type { InspectedAttempt, ResponseInspector } from "./failover";

/** Response header naming the format a delivered stream was guarded as. */
export const STREAM_GUARD_HEADER = "x-proxy-stream-guard";

/** The wire format of a request path, when it is one the guard knows. */
export function streamFormatFor(method: string, rest: string): StreamFormat | null {
  if (method !== "POST") return null;
  let end = rest.length;
  while (end > 0 && rest.charCodeAt(end - 1) === 47 /* / */) end--;
  const path = rest.slice(0, end);
  if (path.endsWith("/completions")) return openaiChatStream; // chat and legacy completions
  if (path.endsWith("/responses")) return openaiResponsesStream;
  if (path.endsWith("/messages")) return anthropicMessagesStream;
  return null;
}

function outcomeOf(end: GuardEnd): OutcomeKind {
  if (end.kind !== "failed") return "success";
  return end.failure.reason === "upstream_error" ? "stream_error" : "stream_cut";
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "target";
  }
}

/** Whether the attempt's answer is a stream the guard should watch. */
function isGuardedStream(response: Response, attempt: InspectedAttempt): boolean {
  if (response.status < 200 || response.status >= 300) return false;
  const body = attempt.requestBody;
  const requested = body === undefined ? null : body === null ? false : streamFlagOf(body);
  if (requested === false) return false;
  const type = response.headers.get("content-type")?.toLowerCase() ?? "";
  // A whole JSON answer to a streaming request is complete as it is.
  if (type.includes("application/json")) return false;
  if (requested === null && !type.includes("text/event-stream")) return false;
  // A coding the transport could not decode passes through as it came: nothing to parse.
  return responseCoding(response.headers.get("content-encoding")) !== "passthrough";
}

export function streamGuardInspector(
  format: StreamFormat,
  config: StreamGuardConfig,
  signal?: AbortSignal,
): ResponseInspector {
  return async (response, attempt) => {
    if (!isGuardedStream(response, attempt)) return { kind: "pass" };
    // A transport may give an empty body as none at all: that is an empty stream, not a pass.
    const body = response.body ?? new Blob([]).stream();
    const start = await guardStream(body, format, {
      config,
      hold: attempt.mayFailOver,
      targetLabel: hostOf(attempt.target.url),
      ...(signal ? { signal } : {}),
      onEnd: (end) => attempt.report(outcomeOf(end)),
    });
    if (start.kind === "client_left") {
      throw new ClientClosedError("the client left while the stream's start was held");
    }
    if (start.kind === "fail_over") return { kind: "fail_over", cause: start.failure.message };
    const headers = new Headers(response.headers);
    // The guard may end the stream with an event of its own: any announced length would be wrong.
    headers.delete("content-length");
    headers.set(STREAM_GUARD_HEADER, format.name);
    const delivered = new Response(start.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
    return { kind: "deliver", response: delivered };
  };
}

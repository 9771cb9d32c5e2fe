/**
 * The in-band error event that ends a failed OpenAI-style stream (chat completions, legacy completions,
 * Responses). The official SDKs raise any stream event whose JSON carries an `error` member as an
 * `APIError` (openai-node `Stream.fromSSEResponse`: `if (data && data.error) throw new APIError(…)`),
 * and stop reading; no `data: [DONE]` follows, so nothing can read the stream as complete.
 */
import type { GuardFailure } from "../stream/stream-format";

/** `code` names what happened, like the API's own string codes (`rate_limit_exceeded`…). */
const CODES: Record<GuardFailure["reason"], string> = {
  truncated: "stream_truncated",
  stalled: "stream_stalled",
  upstream_error: "stream_upstream_error",
};

export function openaiErrorEvent(failure: GuardFailure): string {
  const error = { message: failure.message, type: "upstream_error", code: CODES[failure.reason] };
  return `data: ${JSON.stringify({ error })}\n\n`;
}

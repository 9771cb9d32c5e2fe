/**
 * The one place that turns errors into HTTP responses (DESIGN §8): JSON in the Google error shape,
 * which the Google, OpenAI and Anthropic SDKs all surface as a readable message, plus
 * `x-proxy-error: <reason>`. Secrets are scrubbed from every message that leaves.
 */
import { KeysCoolingError } from "../keys/errors";
import { AllTargetsFailedError, GatewayError, googleStatusFor } from "../transport/errors";
import { redact } from "./log";

export interface ErrorBody {
  error: { code: number; status: string; message: string; request_id: string };
}

export function errorBody(status: number, message: string, requestId: string): ErrorBody {
  return { error: { code: status, status: googleStatusFor(status), message, request_id: requestId } };
}

export function errorResponse(
  status: number,
  reason: string,
  message: string,
  requestId: string,
  secrets: readonly string[] = [],
): Response {
  const body = errorBody(status, redact(message, secrets), requestId);
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "x-proxy-error": reason },
  });
}

/** Maps anything thrown by a handler to a response; unknown errors become an opaque 500. */
export function toErrorResponse(
  error: unknown,
  requestId: string,
  secrets: readonly string[] = [],
): Response {
  if (error instanceof GatewayError) {
    const response = errorResponse(error.status, error.reason, error.message, requestId, secrets);
    if (error instanceof AllTargetsFailedError)
      response.headers.set("x-proxy-attempts", String(error.attempts));
    if (error instanceof KeysCoolingError)
      response.headers.set("retry-after", String(error.retryAfterSeconds));
    return response;
  }
  return errorResponse(500, "internal_error", "internal gateway error", requestId, secrets);
}

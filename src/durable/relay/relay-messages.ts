/**
 * Small helpers of the relay that need no object state: message sizes, the error answer the object
 * gives instead of a 101, and closing a platform WebSocket with a code it accepts.
 */
import { GatewayError, UpstreamError } from "../../transport/errors";
import {
  CLOSE_NO_STATUS,
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  truncateUtf8,
} from "../../transport/ws-frame";
import type { WsMessage } from "../../transport/ws-upstream";
import type { RelayErrorBody } from "./relay-settings";

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export function sizeOf(message: WsMessage): number {
  return message.kind === "text" ? utf8Length(message.data) : message.data.length;
}

export function errorResponse(err: unknown): Response {
  const e =
    err instanceof GatewayError
      ? err
      : new GatewayError(502, "relay_failed", "WebSocket relay could not start", { cause: err });
  const body: RelayErrorBody = {
    relayError: {
      status: e.status,
      reason: e.reason,
      message: e.message,
      upstreamStatus: e.upstreamStatus,
      phase: e instanceof UpstreamError ? e.phase : null,
    },
  };
  return Response.json(body, { status: e.status });
}

/** Closes a platform WebSocket with a code it accepts (1005/1006 cannot be sent). */
export function closeSocketWith(ws: WebSocket, code: number, reason: string): void {
  try {
    if (code === CLOSE_NO_STATUS) ws.close();
    else if (isSendableCloseCode(code)) ws.close(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
    else ws.close(1011, "upstream connection lost");
  } catch {
    // Already closed.
  }
}

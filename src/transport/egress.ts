import { BodyRecorder, REPLAY_BUFFER_LIMIT_BYTES, type SocketAttempt, shouldFallBack } from "./egress-policy";
import type { TransportKind } from "./endpoint";
import { UpstreamConnectError, type UpstreamError, UpstreamTlsError } from "./errors";
import { type EgressRequest, fetchEgress, UpstreamFetchError } from "./fetch-egress";
import { sanitizeRequestHeaders } from "./header-policy";
import { withResponseHeaders } from "./response-headers";
import { readDeclaredBody, smallBodyLength } from "./small-body";
import { sendViaSocket } from "./socket-http";
import { type EgressTimeouts, resolveTimeouts } from "./timeouts";

/**
 * The one egress entry point (issue 3, DESIGN §6). Applies the header policy once, then sends through
 * the endpoint's transport: `fetch` endpoints use fetch only; `socket` endpoints go socket-first and
 * fall back to fetch by these rules:
 *
 * - nothing of the request was written (`before_write`: connect refused/timed out, TLS failed): always;
 * - written but no response byte yet (`after_write`): only with `aggressiveFallback`, and only when the
 *   request body can be replayed (below);
 * - any response byte arrived (`after_response`): never — the upstream answered; replaying could run
 *   the request twice, and a failure mid-body errors the body stream instead.
 *
 * Replaying a streamed request body: the socket attempt reads the client's stream through a recorder
 * that keeps a copy of what was read, up to `REPLAY_BUFFER_LIMIT_BYTES`. A fallback replays the copy
 * and then continues with the unread rest of the client's stream. A body larger than the limit is
 * streamed without a copy; once part of it was written, it cannot be replayed, so that request does not
 * fall back after write. Byte-array bodies are always replayable. The copy is dropped as soon as the
 * socket attempt has a response head. A small body with a declared length (`SMALL_BODY_BYTES`) is read whole
 * first, so it needs no record. A body held in memory by the caller (`HeldBody`: a Gemini
 * session's request) needs no record at all: the fallback sends the same pieces again, whatever their size.
 */

export { BodyRecorder, REPLAY_BUFFER_LIMIT_BYTES, type SocketAttempt, shouldFallBack } from "./egress-policy";
export type { EgressRequest } from "./fetch-egress";
export { HeldBody } from "./held-body";
export type { EgressTimeouts } from "./timeouts";

export interface EgressOptions {
  transport: TransportKind;
  /** `AGGRESSIVE_FALLBACK`: also fall back after the request was written, before any response byte. */
  aggressiveFallback: boolean;
  timeouts?: Partial<EgressTimeouts>;
}

export interface EgressResult {
  response: Response;
  transport: TransportKind;
  /** The socket failure's reason token when the response came from the fetch fallback. */
  fallbackReason: string | null;
}

export const TRANSPORT_HEADER = "x-proxy-transport";
export const FALLBACK_HEADER = "x-proxy-fallback";

/** The two transports, injectable so tests can force each failure phase deterministically. */
export interface EgressTransports {
  sendViaSocket: typeof sendViaSocket;
  fetchEgress: typeof fetchEgress;
}

/** Builds an `egress` over the given transports (tests); production code uses `egress` below. */
export function createEgress(transports: EgressTransports) {
  return async function egressWith(req: EgressRequest, opts: EgressOptions): Promise<EgressResult> {
    const timeouts = resolveTimeouts(opts.timeouts);
    const clean: EgressRequest = { ...req, headers: sanitizeRequestHeaders(req.headers) };
    if (opts.transport === "fetch") {
      return tag(await transports.fetchEgress(clean, timeouts), "fetch", null);
    }

    const small = smallBodyLength(clean.headers, clean.body);
    if (small !== null) clean.body = await readDeclaredBody(clean.body as ReadableStream<Uint8Array>, small);
    const recorder =
      clean.body instanceof ReadableStream ? new BodyRecorder(clean.body, REPLAY_BUFFER_LIMIT_BYTES) : null;
    const attempt: SocketAttempt = { wroteRequest: false, receivedResponse: false };
    try {
      const body = recorder ? recorder.stream() : clean.body;
      const response = await transports.sendViaSocket({ ...clean, body }, timeouts, { attempt });
      recorder?.release();
      return tag(response, "socket", null);
    } catch (error) {
      if (!shouldFallBack(error, attempt, opts.aggressiveFallback, req.signal)) throw error;
      const body = recorder ? recorder.replay() : clean.body;
      // The body was too large to keep a copy of and part of it is already sent: cannot replay.
      if (body === null && recorder) throw error;
      const socketError = error as UpstreamError;
      try {
        const response = await transports.fetchEgress({ ...clean, body }, timeouts);
        return tag(response, "fetch", socketError.reason);
      } catch (fallbackError) {
        throw bothFailed(socketError, fallbackError);
      }
    }
  };
}

/**
 * When the fallback fails too, the socket's error says more about the upstream: fetch() only reports
 * "network connection lost" whether the host refused, reset or timed out. Keep the socket error's
 * class (health and failover classify by it) and name both failures in the message.
 */
function bothFailed(socketError: UpstreamError, fallbackError: unknown): unknown {
  if (!(socketError instanceof UpstreamConnectError) || !(fallbackError instanceof UpstreamFetchError)) {
    return fallbackError;
  }
  const message = `${socketError.message}; the fetch fallback failed too: ${fallbackError.message}`;
  // A refused certificate fails fetch's own check as well: the TLS verdict stays the headline.
  if (socketError instanceof UpstreamTlsError) return new UpstreamTlsError(message, { cause: fallbackError });
  return new UpstreamConnectError(message, { cause: fallbackError });
}

/** Sends a request upstream through the endpoint's transport (see the rules above). */
export const egress: (req: EgressRequest, opts: EgressOptions) => Promise<EgressResult> = createEgress({
  sendViaSocket,
  fetchEgress,
});

function tag(response: Response, transport: TransportKind, fallbackReason: string | null): EgressResult {
  const out = withResponseHeaders(response, (headers) => {
    headers.set(TRANSPORT_HEADER, transport);
    if (fallbackReason) headers.set(FALLBACK_HEADER, fallbackReason);
  });
  return { response: out, transport, fallbackReason };
}

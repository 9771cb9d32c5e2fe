/**
 * The Worker-facing entry of the WebSocket relay: validates the client's upgrade, starts a new
 * `RelaySession` object and returns its 101 response, or throws a GatewayError (the Worker's error
 * mapper turns it into the JSON error of DESIGN §8). The upstream handshake completes before the
 * 101 is returned, so an upstream refusal reaches the client as an HTTP error, not a 101 + close.
 */
import { BadRequestError, GatewayError, UpstreamConnectError, UpstreamError } from "../../transport/errors";
import { UpstreamHandshakeError } from "../../transport/ws-handshake";
import type { RelaySession } from "./relay-session";
import {
  encodeRelayInit,
  RELAY_INIT_HEADER,
  type RelayErrorBody,
  type RelaySettings,
  type RelayStats,
  type RelayTarget,
  resolveRelaySettings,
} from "./relay-settings";

export type { RelaySettings, RelayStats, RelayTarget } from "./relay-settings";

export interface RelayEnv {
  RELAY_SESSION: DurableObjectNamespace<RelaySession>;
}

/** The request is not a WebSocket upgrade: the client must retry with `Upgrade: websocket` (HTTP 426). */
export class UpgradeRequiredError extends GatewayError {
  constructor(message: string) {
    super(426, "websocket_upgrade_required", message);
  }
}

/** True when the request asks for a WebSocket upgrade (for the router). */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get("upgrade") ?? "")
    .split(",")
    .some((token) => token.trim().toLowerCase() === "websocket");
}

/** Throws the client-facing error for an upgrade the relay cannot accept. */
export function validateUpgradeRequest(request: Request): void {
  if (!isWebSocketUpgrade(request)) {
    throw new UpgradeRequiredError("this route relays WebSockets: send a GET with Upgrade: websocket");
  }
  if (request.method !== "GET") {
    throw new BadRequestError(
      `a WebSocket upgrade must use GET, not ${request.method}`,
      "websocket_bad_upgrade",
    );
  }
  const version = request.headers.get("sec-websocket-version");
  if (version !== null && version.trim() !== "13") {
    throw new UpgradeRequiredError(`unsupported Sec-WebSocket-Version "${version}": only 13 is supported`);
  }
}

function validateTarget(target: RelayTarget): void {
  let url: URL;
  try {
    url = new URL(target.upstreamUrl);
  } catch {
    throw new BadRequestError("WebSocket upstream URL is invalid", "websocket_bad_target");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new BadRequestError(
      `WebSocket upstream must be ws:// or wss://, not ${url.protocol}`,
      "websocket_bad_target",
    );
  }
}

/** Rebuilds the typed error the object reported (RPC and fetch do not carry classes across). */
function relayError(body: RelayErrorBody["relayError"]): GatewayError {
  const { status, reason, message, upstreamStatus, phase } = body;
  if (reason === "upstream_ws_handshake_failed") return new UpstreamHandshakeError(message, upstreamStatus);
  if (reason === "upstream_connect_failed") return new UpstreamConnectError(message);
  if (phase === "before_write" || phase === "after_write" || phase === "after_response") {
    return new UpstreamError(status, reason, message, phase, { upstreamStatus });
  }
  return new GatewayError(status, reason, message, { upstreamStatus });
}

/**
 * Opens a relayed WebSocket session. Resolves with the 101 response (its `webSocket` is the client's
 * end, `Sec-WebSocket-Protocol` the upstream's choice). Throws `UpgradeRequiredError` (426) or
 * `BadRequestError` (400) for a bad upgrade or target, and the upstream's failure as a GatewayError
 * (`UpstreamHandshakeError`: 502 carrying `upstreamStatus`; connect/timeout errors: 502/504).
 */
export async function openRelay(
  env: RelayEnv,
  request: Request,
  target: RelayTarget,
  settings?: Partial<RelaySettings>,
): Promise<Response> {
  validateUpgradeRequest(request);
  validateTarget(target);
  const resolved = resolveRelaySettings(settings);
  const stub = env.RELAY_SESSION.get(env.RELAY_SESSION.newUniqueId());
  const headers = new Headers(request.headers);
  headers.set(RELAY_INIT_HEADER, encodeRelayInit({ target, settings: resolved }));
  // The object's URL is internal; the upstream URL travels in the init header.
  const response = await stub.fetch("https://relay-session.internal/connect", { headers });
  if (response.status === 101 && response.webSocket) return response;
  let body: RelayErrorBody | null = null;
  try {
    body = (await response.json()) as RelayErrorBody;
  } catch {
    // Not our JSON: fall through to a generic error.
  }
  if (body?.relayError) throw relayError(body.relayError);
  throw new GatewayError(502, "relay_failed", `WebSocket relay failed to start (HTTP ${response.status})`);
}

/** Per-session stats of a relay by its object id (the 101 carries it in `x-proxy-session-id`). */
export async function getRelayStats(env: RelayEnv, id: DurableObjectId): Promise<RelayStats> {
  return env.RELAY_SESSION.get(id).getStats();
}

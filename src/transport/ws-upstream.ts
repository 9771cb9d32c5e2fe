/**
 * The one interface the relay uses for an upstream WebSocket, whichever transport carries it
 * (`socket-websocket.ts`: our own RFC 6455 client over `connect()`; `ws-fallback.ts`: the platform's
 * outbound WebSocket via `fetch`).
 */
import type { TransportKind } from "./endpoint";

export type WsMessage = { kind: "text"; data: string } | { kind: "binary"; data: Uint8Array };

export interface UpstreamWsHandlers {
  /**
   * One whole message. A returned promise pauses reading from the upstream until it settles: the
   * relay uses it to stop pulling bytes while the client side is not keeping up.
   */
  onMessage(message: WsMessage): void | Promise<void>;
  /**
   * Called exactly once when the connection is over. `code` 1005 means the close frame carried no
   * code, 1006 that the connection dropped without a close frame; `clean` is true after a complete
   * close handshake.
   */
  onClose(code: number, reason: string, clean: boolean): void;
}

export interface UpstreamWebSocket {
  readonly transport: TransportKind;
  /** The subprotocol the upstream selected, or null. */
  readonly protocol: string | null;
  /** Bytes handed to `send` and not yet written to the network (0 when the transport cannot tell). */
  readonly bufferedAmount: number;
  /**
   * Starts delivering events. Messages that arrived before (e.g. in the same read as the 101
   * response) are delivered first, in order.
   */
  start(handlers: UpstreamWsHandlers): void;
  /** Sends one message; text stays text, binary stays binary. */
  send(message: WsMessage): void;
  /** Sends a ping (keep-alive); a no-op where the platform owns the connection's control frames. */
  ping(payload?: Uint8Array): void;
  /**
   * Starts the close handshake. `code` undefined or 1005 sends a close frame without a code.
   * `onClose` fires when the upstream answered (or the close timeout passed).
   */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close handshake (`onClose` fires with 1006). */
  abort(): void;
}

export interface UpstreamWsOptions {
  /** ws:// or wss:// */
  url: URL;
  /** Client headers already passed through `sanitizeRequestHeaders` (with the target, so `host` is set). */
  headers: Headers;
  /** Subprotocols the client offered, in its order. */
  protocols: readonly string[];
  connectTimeoutMs: number;
  /** From the end of the upgrade request until the complete 101 head. */
  handshakeTimeoutMs: number;
  /** Wait this long for the upstream's close frame after sending ours. */
  closeTimeoutMs: number;
  maxMessageBytes: number;
  /** Randomness for the handshake key and frame masks (crypto.getRandomValues in production). */
  randomBytes: (n: number) => Uint8Array;
  signal?: AbortSignal;
}

/**
 * The upstream WebSocket through the platform's `fetch()` with `Upgrade: websocket`: the route for
 * endpoints whose transport is `fetch`, and the fallback when `connect()` cannot reach the host
 * (Cloudflare refuses raw sockets to its own IP ranges, where many providers sit).
 *
 * Limits compared to the socket client, all imposed by the platform: the runtime writes the upgrade
 * request itself (it adds its own headers, e.g. `CF-Worker` in production), messages are limited by
 * the runtime's WebSocket message size, and `send()` has no backpressure signal.
 */
import { UpstreamConnectError } from "./errors";
import { CLOSE_ABNORMAL, isSendableCloseCode } from "./ws-frame";
import { UpstreamHandshakeError } from "./ws-handshake";
import type { UpstreamWebSocket, UpstreamWsHandlers, UpstreamWsOptions, WsMessage } from "./ws-upstream";

/** `fetch()` speaks http(s): the upgrade goes to the same URL with the scheme mapped. */
export function fetchUrlFor(url: URL): string {
  const out = new URL(url.href);
  if (out.protocol === "ws:") out.protocol = "http:";
  else if (out.protocol === "wss:") out.protocol = "https:";
  return out.href;
}

type Pending =
  | { type: "message"; message: WsMessage }
  | { type: "close"; code: number; reason: string; clean: boolean };

export async function connectFetchWebSocket(
  opts: Pick<UpstreamWsOptions, "url" | "headers" | "protocols" | "connectTimeoutMs" | "signal">,
): Promise<UpstreamWebSocket> {
  const headers = new Headers(opts.headers);
  // fetch() derives Host from the URL; the runtime generates key and version itself.
  headers.delete("host");
  headers.set("upgrade", "websocket");
  if (opts.protocols.length > 0) headers.set("sec-websocket-protocol", opts.protocols.join(", "));
  else headers.delete("sec-websocket-protocol");
  const signals = [AbortSignal.timeout(opts.connectTimeoutMs), ...(opts.signal ? [opts.signal] : [])];
  let response: Response;
  try {
    response = await fetch(fetchUrlFor(opts.url), {
      headers,
      // Following a 3xx would carry the client's credential headers to another origin and step
      // around the generic proxy's address guard; a redirect is a refused upgrade (502, as on sockets).
      redirect: "manual",
      signal: AbortSignal.any(signals),
    });
  } catch (cause) {
    throw new UpstreamConnectError(
      `WebSocket upgrade via fetch failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) {
    response.body?.cancel().catch(() => {});
    const text = response.statusText ? ` ${response.statusText}` : "";
    throw new UpstreamHandshakeError(
      `upstream refused the WebSocket upgrade: HTTP ${response.status}${text}`,
      response.status,
    );
  }
  const protocol = response.headers.get("sec-websocket-protocol");
  if (protocol && !opts.protocols.includes(protocol)) {
    ws.close(1002, "unexpected subprotocol");
    throw new UpstreamHandshakeError(
      `invalid WebSocket handshake from upstream: subprotocol "${protocol}" not offered`,
      101,
    );
  }
  // Half-open so a close from the upstream is not auto-answered: the relay forwards it to the client
  // first and completes the handshake with the client's answer.
  ws.accept({ allowHalfOpen: true });
  // Newer compatibility dates deliver binary messages as Blob by default; the relay needs bytes.
  ws.binaryType = "arraybuffer";
  return new FetchWebSocket(ws, protocol || null);
}

class FetchWebSocket implements UpstreamWebSocket {
  readonly transport = "fetch" as const;
  readonly protocol: string | null;
  readonly #ws: WebSocket;
  #handlers: UpstreamWsHandlers | null = null;
  #early: Pending[] = [];
  #closed = false;
  #closeSent = false;

  constructor(ws: WebSocket, protocol: string | null) {
    this.#ws = ws;
    this.protocol = protocol;
    // Listen immediately so nothing that arrives before start() is lost.
    ws.addEventListener("message", (event) => {
      const data = event.data;
      const message: WsMessage =
        typeof data === "string"
          ? { kind: "text", data }
          : { kind: "binary", data: new Uint8Array(data as ArrayBuffer) };
      this.#emit({ type: "message", message });
    });
    ws.addEventListener("close", (event) => {
      this.#emit({ type: "close", code: event.code, reason: event.reason, clean: event.wasClean });
    });
    ws.addEventListener("error", () => {
      this.#emit({ type: "close", code: CLOSE_ABNORMAL, reason: "upstream connection lost", clean: false });
    });
  }

  get bufferedAmount(): number {
    return 0;
  }

  start(handlers: UpstreamWsHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const event of early) this.#dispatch(event);
  }

  send(message: WsMessage): void {
    if (this.#closeSent || this.#closed) return;
    this.#ws.send(message.data);
  }

  ping(): void {
    // The platform WebSocket API has no ping(); the runtime manages control frames itself.
  }

  close(code?: number, reason = ""): void {
    if (this.#closeSent || this.#closed) return;
    this.#closeSent = true;
    try {
      if (code !== undefined && isSendableCloseCode(code)) this.#ws.close(code, reason);
      else this.#ws.close();
    } catch {
      this.abort();
    }
  }

  abort(): void {
    try {
      this.#ws.close(1011, "relay aborted");
    } catch {
      // Already closed.
    }
    this.#emit({ type: "close", code: CLOSE_ABNORMAL, reason: "", clean: false });
  }

  #emit(event: Pending): void {
    if (this.#handlers) this.#dispatch(event);
    else this.#early.push(event);
  }

  #dispatch(event: Pending): void {
    if (this.#closed) return;
    if (event.type === "message") {
      // The platform WebSocket cannot be paused, so a returned promise is not awaited here.
      const result = this.#handlers?.onMessage(event.message);
      if (result) result.catch(() => {});
      return;
    }
    this.#closed = true;
    if (!this.#closeSent) {
      // Complete the half-open close handshake, echoing the code.
      try {
        if (isSendableCloseCode(event.code)) this.#ws.close(event.code, event.reason);
        else this.#ws.close();
      } catch {
        // The runtime already finished the handshake.
      }
    }
    this.#handlers?.onClose(event.code, event.reason, event.clean);
  }
}

/**
 * `RelaySession`: one Durable Object per WebSocket session (DESIGN §3). It holds the client's
 * WebSocket (a WebSocketPair end) and the upstream connection, relays messages exactly both ways,
 * propagates close code and reason both ways, enforces size/idle/buffer limits, records stats, and
 * for the Gemini Live API resumes the upstream session transparently on `goAway` or a drop.
 *
 * The client side is accepted with `allowHalfOpen` so a close from either side is forwarded to the
 * other before it is answered: each side then sees the code and reason the other side sent.
 */
import { DurableObject } from "cloudflare:workers";
import { LiveResumption } from "../../gemini/live";
import { ResumeBudget } from "../../gemini/live-budget";
import {
  BadRequestError,
  GatewayError,
  UpstreamConnectError,
  UpstreamError,
  UpstreamTlsError,
} from "../../transport/errors";
import { sanitizeRequestHeaders } from "../../transport/header-policy";
import { connectSocketWebSocket } from "../../transport/socket-websocket";
import { connectFetchWebSocket } from "../../transport/ws-fallback";
import { CLOSE_ABNORMAL, CLOSE_NO_STATUS } from "../../transport/ws-frame";
import { parseProtocolList } from "../../transport/ws-handshake";
import type { UpstreamWebSocket, UpstreamWsOptions, WsMessage } from "../../transport/ws-upstream";
import { recordSessionEvent, type SessionCountersEnv } from "../health/session-counters";
import { closeSocketWith, errorResponse, sizeOf } from "./relay-messages";
import {
  decodeRelayInit,
  emptyRelayStats,
  RELAY_INIT_HEADER,
  type RelaySettings,
  type RelayStats,
  type RelayTarget,
} from "./relay-settings";

/** How often a paused upstream reader re-checks whether the client drained its send buffer. */
const DRAIN_POLL_MS = 10;
/** The close a resumed connection answered its setup with: an answer, so the relay passes it on instead of retrying. */
class ResumeRefused extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`resumed upstream closed with ${code}`);
  }
}

/** How long a finished session's stats stay readable (`getStats`) before an alarm deletes them. */
export const RELAY_STATS_RETENTION_MS = 10 * 60_000;

export class RelaySession extends DurableObject<SessionCountersEnv> {
  #client: WebSocket | null = null;
  #upstream: UpstreamWebSocket | null = null;
  /** Bumped whenever the upstream is replaced: events of an older connection are ignored. */
  #generation = 0;
  #target: RelayTarget | null = null;
  #settings: RelaySettings | null = null;
  #connectOpts: UpstreamWsOptions | null = null;
  #live: LiveResumption | null = null;
  #budget: ResumeBudget | null = null;
  #resuming = false;
  #awaitingSetup: { resolve: () => void; reject: (err: Error) => void } | null = null;
  #state: "idle" | "open" | "closing" | "closed" = "idle";
  #clientClose: { code: number; reason: string } | null = null;
  #lastActivity = 0;
  #lastUpstreamMessage = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  #stats: RelayStats = emptyRelayStats();

  /** RPC: this session's statistics (live while open, final once closed). */
  async getStats(): Promise<RelayStats> {
    if (this.#state !== "idle") return structuredClone(this.#stats);
    return (await this.ctx.storage.get<RelayStats>("stats")) ?? structuredClone(this.#stats);
  }

  override async fetch(request: Request): Promise<Response> {
    const init = decodeRelayInit(request.headers.get(RELAY_INIT_HEADER));
    if (!init) return errorResponse(new BadRequestError("relay session started without a valid init"));
    if (this.#state !== "idle")
      return errorResponse(new GatewayError(409, "relay_busy", "relay session already in use"));
    this.#state = "open";
    const { target, settings } = init;
    const url = new URL(target.upstreamUrl);
    this.#target = target;
    this.#settings = settings;
    this.#stats.endpoint = target.endpointName;
    this.#connectOpts = {
      url,
      headers: sanitizeRequestHeaders(request.headers, url),
      protocols: parseProtocolList(request.headers.get("sec-websocket-protocol")),
      connectTimeoutMs: settings.connectTimeoutMs,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      closeTimeoutMs: settings.closeTimeoutMs,
      maxMessageBytes: settings.maxMessageBytes,
      randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    };
    let upstream: UpstreamWebSocket;
    try {
      upstream = await this.#connect();
    } catch (err) {
      this.#state = "idle";
      return errorResponse(err);
    }
    if (target.geminiLive) {
      this.#live = new LiveResumption({ maxReplayBytes: settings.maxReplayBytes });
      this.#budget = new ResumeBudget(
        {
          maxResumes: settings.maxResumesPerWindow,
          windowMs: settings.resumeWindowMs,
          backoffBaseMs: settings.resumeBackoffBaseMs,
          backoffMaxMs: settings.resumeBackoffMaxMs,
        },
        Date.now,
      );
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    server.accept({ allowHalfOpen: true });
    // Newer compatibility dates deliver binary messages as Blob by default; the relay needs bytes.
    server.binaryType = "arraybuffer";
    this.#client = server;
    server.addEventListener("message", (event) => this.#onClientMessage(event.data));
    server.addEventListener("close", (event) => this.#onClientClose(event.code, event.reason));
    server.addEventListener("error", () => this.#onClientClose(CLOSE_ABNORMAL, ""));
    this.#stats.startedAt = Date.now();
    this.#stats.transport = upstream.transport;
    this.#stats.protocol = upstream.protocol;
    this.#attach(upstream);
    this.#touch();
    this.#lastUpstreamMessage = Date.now();
    this.#keepAliveTimer = setInterval(() => {
      if (Date.now() - this.#lastUpstreamMessage >= settings.keepAlivePingMs) this.#upstream?.ping();
    }, settings.keepAlivePingMs);
    recordSessionEvent(this.env, (p) => this.ctx.waitUntil(p), "websocket.opened");
    // The object id lets the Worker (or an operator) read this session's stats with getStats().
    const headers = new Headers({ "x-proxy-session-id": this.ctx.id.toString() });
    if (upstream.protocol) headers.set("sec-websocket-protocol", upstream.protocol);
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Socket first; fetch when the endpoint says so or when the socket could not even connect. */
  async #connect(): Promise<UpstreamWebSocket> {
    const opts = this.#connectOpts!;
    if (this.#target!.transport === "fetch") return connectFetchWebSocket(opts);
    try {
      return await connectSocketWebSocket(opts);
    } catch (err) {
      if (!(err instanceof UpstreamError && err.phase === "before_write")) throw err;
      return connectFetchWebSocket(opts).catch((fallbackError: unknown) => {
        // A refused certificate fails fetch's own check too: the TLS verdict stays the headline.
        if (err instanceof UpstreamTlsError && fallbackError instanceof UpstreamConnectError) {
          throw new UpstreamTlsError(
            `${err.message}; the fetch fallback failed too: ${fallbackError.message}`,
          );
        }
        throw fallbackError;
      });
    }
  }

  #attach(upstream: UpstreamWebSocket): void {
    const generation = ++this.#generation;
    this.#upstream = upstream;
    upstream.start({
      onMessage: (message) =>
        generation === this.#generation ? this.#onUpstreamMessage(message) : undefined,
      onClose: (code, reason, clean) => {
        if (generation === this.#generation) this.#onUpstreamClose(code, reason, clean);
      },
    });
  }

  #onClientMessage(data: string | ArrayBuffer): void {
    if (this.#state !== "open") return;
    const message: WsMessage =
      typeof data === "string" ? { kind: "text", data } : { kind: "binary", data: new Uint8Array(data) };
    const size = sizeOf(message);
    const settings = this.#settings!;
    if (size > settings.maxMessageBytes) {
      this.#shutdown(1009, `message of ${size} bytes exceeds the ${settings.maxMessageBytes}-byte limit`);
      return;
    }
    this.#stats.clientToUpstream.messages++;
    this.#stats.clientToUpstream.bytes += size;
    this.#touch();
    if (this.#live && this.#live.clientMessage(message) === "queue") {
      if (this.#live.bufferedBytes > settings.maxBufferedBytes)
        this.#shutdown(1013, "upstream is not keeping up");
      return;
    }
    const upstream = this.#upstream!;
    // The platform cannot pause a client WebSocket, so the only bound on this direction is to stop.
    if (upstream.bufferedAmount + size > settings.maxBufferedBytes) {
      this.#shutdown(1013, "upstream is not keeping up");
      return;
    }
    upstream.send(message);
  }

  async #onUpstreamMessage(message: WsMessage): Promise<void> {
    if (this.#state === "closed") return;
    const size = sizeOf(message);
    const settings = this.#settings!;
    if (size > settings.maxMessageBytes) {
      this.#shutdown(
        1009,
        `upstream message of ${size} bytes exceeds the ${settings.maxMessageBytes}-byte limit`,
      );
      return;
    }
    this.#touch();
    this.#lastUpstreamMessage = this.#lastActivity;
    if (this.#live) {
      const verdict = this.#live.serverMessage(message);
      if (verdict.setupComplete && this.#awaitingSetup) this.#awaitingSetup.resolve();
      if (verdict.goAway && this.#live.canResume && this.#state === "open") this.#startResume(null);
      if (!verdict.deliver) return;
    }
    this.#stats.upstreamToClient.messages++;
    this.#stats.upstreamToClient.bytes += size;
    const client = this.#client!;
    try {
      client.send(message.data);
    } catch {
      return;
    }
    // Pause reading the upstream (and so TCP-backpressure it) while the client is behind. workerd
    // does not implement WebSocket.bufferedAmount yet (it reads as undefined, so the loop never
    // runs there); the relay itself still holds at most one message in this direction, because the
    // upstream reader pulls the next bytes only after this handler returned.
    while ((client.bufferedAmount ?? 0) > settings.maxBufferedBytes && !this.#isClosed()) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  #onClientClose(code: number, reason: string): void {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#stats.closedBy = "client";
    this.#clientClose = { code, reason };
    const upstream = this.#upstream;
    if (!upstream || this.#resuming) {
      // Mid-resumption there is no upstream session to hand the close to; end whatever is open.
      upstream?.close(1001, "client closed");
      this.#finish(code, reason);
      return;
    }
    // Forward the client's close; the upstream's answer (onUpstreamClose) completes the client's handshake.
    if (code === CLOSE_ABNORMAL) upstream.close(1001, "client disconnected");
    else upstream.close(code === CLOSE_NO_STATUS ? undefined : code, reason);
  }

  #onUpstreamClose(code: number, reason: string, _clean: boolean): void {
    if (this.#state === "closed") return;
    if (this.#awaitingSetup) {
      this.#awaitingSetup.reject(new ResumeRefused(code, reason));
      return;
    }
    if (this.#state === "closing") {
      // The upstream's answer completes the client's close; if it dropped instead, echo the client's own close.
      const echo = code === CLOSE_ABNORMAL ? (this.#clientClose ?? { code, reason }) : { code, reason };
      this.#finish(echo.code, echo.reason);
      return;
    }
    if (this.#resuming) return; // the resume loop owns the outcome
    // Only a connection lost without a close frame is resumed (and `goAway`, see onUpstreamMessage). A close frame is
    // the upstream's answer, e.g. 1007 for a message it rejects: resuming would replay that message and loop.
    if (this.#live?.canResume && code === CLOSE_ABNORMAL) {
      this.#startResume({ code, reason });
      return;
    }
    this.#stats.closedBy = "upstream";
    this.#state = "closing";
    this.#finish(code, reason);
  }

  #startResume(drop: { code: number; reason: string } | null): void {
    this.#resume(drop).catch(() => this.#shutdown(1011, "upstream session could not be resumed"));
  }

  /** Gemini Live: reconnect with the latest handle, hide the second setupComplete, replay what was not consumed. */
  async #resume(drop: { code: number; reason: string } | null): Promise<void> {
    if (this.#resuming) return;
    const live = this.#live!;
    this.#resuming = true;
    live.pause();
    let lastClose = drop;
    let closedBy: "upstream" | "relay" = "upstream";
    const settings = this.#settings!;
    try {
      for (let attempt = 0; attempt < settings.maxResumeAttempts && this.#state === "open"; attempt++) {
        const delay = this.#budget!.claim();
        if (delay === null) {
          const seconds = Math.round(settings.resumeWindowMs / 1000);
          lastClose = {
            code: 1011,
            reason: `gemini live: upstream lost ${this.#budget!.recent} times in ${seconds} s, not resuming again`,
          };
          closedBy = "relay";
          break;
        }
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.#isClosed() || this.#state !== "open") break;
        let next: UpstreamWebSocket;
        try {
          next = await this.#connect();
        } catch {
          continue;
        }
        if (this.#state !== "open" || !live.canResume) {
          next.abort();
          break;
        }
        const setup = live.startResume();
        const old = this.#upstream;
        const setupDone = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no setupComplete")), settings.handshakeTimeoutMs);
          this.#awaitingSetup = {
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
            reject: (err) => {
              clearTimeout(timer);
              reject(err);
            },
          };
        });
        this.#attach(next);
        old?.close(1000, "session continues on a new connection");
        next.send(setup);
        try {
          await setupDone;
        } catch (err) {
          next.abort();
          if (err instanceof ResumeRefused && err.code !== CLOSE_ABNORMAL) {
            // The upstream answered the resumed setup with a close: asking again would get the same answer.
            lastClose = { code: err.code, reason: err.reason };
            break;
          }
          lastClose = lastClose ?? { code: 1011, reason: "upstream session could not be resumed" };
          continue;
        } finally {
          this.#awaitingSetup = null;
        }
        for (const message of live.finishResume()) next.send(message);
        this.#stats.resumptions = live.resumptions;
        this.#resuming = false;
        return;
      }
    } finally {
      this.#awaitingSetup = null;
    }
    this.#resuming = false;
    if (this.#state !== "open") return;
    // Resumption was not possible: the client gets the upstream's own code and reason, or the relay's give-up.
    this.#stats.closedBy = closedBy;
    this.#state = "closing";
    this.#upstream?.abort();
    this.#finish(lastClose?.code ?? 1011, lastClose?.reason ?? "upstream session could not be resumed");
  }

  /** The stats' retention is over: the object's storage goes away (`getStats` then answers empty stats). */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** A method, not a field comparison: TypeScript would keep a narrowing of `#state` across awaits. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #touch(): void {
    this.#lastActivity = Date.now();
    if (this.#idleTimer === undefined) this.#armIdle(this.#settings!.idleTimeoutMs);
  }

  #armIdle(delayMs: number): void {
    // One timer re-armed on expiry instead of one clearTimeout/setTimeout per message.
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#state !== "open") return;
      const idleFor = Date.now() - this.#lastActivity;
      const limit = this.#settings!.idleTimeoutMs;
      if (idleFor >= limit) this.#shutdown(1001, "idle timeout");
      else this.#armIdle(limit - idleFor);
    }, delayMs);
  }

  /** The relay itself ends the session (limits, idle): both sides get the same code and reason. */
  #shutdown(code: number, reason: string): void {
    if (this.#state === "closed") return;
    this.#stats.closedBy ??= "relay";
    this.#state = "closing";
    this.#upstream?.close(code, reason);
    this.#finish(code, reason);
  }

  #finish(code: number, reason: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#idleTimer);
    clearInterval(this.#keepAliveTimer);
    this.#awaitingSetup?.reject(new Error("session closed"));
    if (this.#client) closeSocketWith(this.#client, code, reason);
    const now = Date.now();
    Object.assign(this.#stats, {
      endedAt: now,
      durationMs: now - this.#stats.startedAt,
      closeCode: code === CLOSE_ABNORMAL ? 1011 : code,
      closeReason: reason,
    });
    // Stored with its deadline: nothing a client can create stays in storage without one.
    this.ctx.storage.put("stats", this.#stats).catch(() => {});
    this.ctx.storage.setAlarm(now + RELAY_STATS_RETENTION_MS).catch(() => {});
    recordSessionEvent(this.env, (p) => this.ctx.waitUntil(p), "websocket.closed");
  }
}

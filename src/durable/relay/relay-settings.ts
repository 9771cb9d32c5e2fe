/**
 * What the Worker tells a `RelaySession` about one WebSocket session: where to go and within which
 * limits. Pure (shared by `relay-route.ts` in the Worker and the Durable Object).
 */
import { DEFAULT_RESUME_BUDGET } from "../../gemini/live-budget";
import type { TransportKind } from "../../transport/endpoint";

export interface RelayTarget {
  /** ws:// or wss:// (path and query byte-exact, may carry `?key=`: never logged). */
  upstreamUrl: string;
  transport: TransportKind;
  /** The endpoint name (for stats); `generic` for the generic proxy. */
  endpointName: string;
  /** The upstream is the Gemini Live API: enable transparent session resumption. */
  geminiLive: boolean;
}

export interface RelaySettings {
  /** A message above this (either direction) closes both sides with 1009. */
  maxMessageBytes: number;
  /** No message in either direction for this long closes both sides with 1001. */
  idleTimeoutMs: number;
  /**
   * With no upstream message for this long, ping the upstream (socket transport), so NATs and
   * proxies on the path do not drop a quiet but live session.
   */
  keepAlivePingMs: number;
  connectTimeoutMs: number;
  /** From the upgrade request until the upstream's complete 101 head. */
  handshakeTimeoutMs: number;
  /** How long to wait for the peer's close frame after sending ours. */
  closeTimeoutMs: number;
  /**
   * Bound on bytes queued towards one side that has not taken them yet. Client → upstream: beyond it
   * the client is closed with 1013 (the platform cannot pause a client WebSocket). Upstream → client:
   * reading from the upstream pauses until the client drained below it.
   */
  maxBufferedBytes: number;
  /** Gemini Live: reconnect attempts per drop before the client is closed with the upstream's code. */
  maxResumeAttempts: number;
  /**
   * Gemini Live: resumption connections allowed per session within `resumeWindowMs` (every attempt counts, also a
   * failed one); beyond it the client is closed with 1011 and a reason saying so (see `live-budget.ts`).
   */
  maxResumesPerWindow: number;
  resumeWindowMs: number;
  /** Gemini Live: wait before the second resumption in a window, doubled for each further one, capped. */
  resumeBackoffBaseMs: number;
  resumeBackoffMaxMs: number;
  /** Gemini Live: bound on client messages kept for replay. */
  maxReplayBytes: number;
}

/**
 * Defaults. 16 MiB comfortably holds realtime audio/video chunks and large tool results while
 * keeping one object's memory bounded; 10 minutes idle matches typical realtime API session
 * lifetimes without letting abandoned sessions hold two connections forever.
 */
export const DEFAULT_RELAY_SETTINGS: Readonly<RelaySettings> = Object.freeze({
  maxMessageBytes: 16 * 1024 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  keepAlivePingMs: 30_000,
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 15_000,
  closeTimeoutMs: 5_000,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxResumeAttempts: 3,
  maxResumesPerWindow: DEFAULT_RESUME_BUDGET.maxResumes,
  resumeWindowMs: DEFAULT_RESUME_BUDGET.windowMs,
  resumeBackoffBaseMs: DEFAULT_RESUME_BUDGET.backoffBaseMs,
  resumeBackoffMaxMs: DEFAULT_RESUME_BUDGET.backoffMaxMs,
  maxReplayBytes: 8 * 1024 * 1024,
});

/** Fills unset fields with defaults; rejects non-positive or non-finite values. */
export function resolveRelaySettings(overrides?: Partial<RelaySettings>): RelaySettings {
  const out: RelaySettings = { ...DEFAULT_RELAY_SETTINGS };
  for (const key of Object.keys(out) as (keyof RelaySettings)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    const zeroAllowed = key === "maxResumeAttempts" || key === "maxResumesPerWindow";
    if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      throw new RangeError(`relay setting ${key} must be a positive number, got ${value}`);
    }
    out[key] = value;
  }
  return out;
}

/** Header carrying the session init from the Worker to the object. The `x-proxy-` prefix is dropped by the header policy. */
export const RELAY_INIT_HEADER = "x-proxy-relay-init";

export interface RelayInit {
  target: RelayTarget;
  settings: RelaySettings;
}

export function encodeRelayInit(init: RelayInit): string {
  // encodeURIComponent keeps the header value ASCII whatever the URL contains.
  return encodeURIComponent(JSON.stringify(init));
}

export function decodeRelayInit(value: string | null): RelayInit | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(decodeURIComponent(value)) as RelayInit;
    if (typeof parsed?.target?.upstreamUrl !== "string") return null;
    return { target: parsed.target, settings: resolveRelaySettings(parsed.settings) };
  } catch {
    return null;
  }
}

/** Per-session statistics (RPC `getStats()`, stored when the session ends). */
export interface RelayStats {
  endpoint: string;
  transport: TransportKind | null;
  protocol: string | null;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  clientToUpstream: { messages: number; bytes: number };
  upstreamToClient: { messages: number; bytes: number };
  /** The code the client's connection was closed with, and who started the close. */
  closeCode: number | null;
  closeReason: string | null;
  closedBy: "client" | "upstream" | "relay" | null;
  /** Gemini Live resumptions performed. */
  resumptions: number;
}

export function emptyRelayStats(): RelayStats {
  return {
    endpoint: "",
    transport: null,
    protocol: null,
    startedAt: 0,
    endedAt: null,
    durationMs: null,
    clientToUpstream: { messages: 0, bytes: 0 },
    upstreamToClient: { messages: 0, bytes: 0 },
    closeCode: null,
    closeReason: null,
    closedBy: null,
    resumptions: 0,
  };
}

/** The error the object returns instead of a 101 (rebuilt into a GatewayError by `openRelay`). */
export interface RelayErrorBody {
  relayError: {
    status: number;
    reason: string;
    message: string;
    upstreamStatus: number | null;
    phase: string | null;
  };
}

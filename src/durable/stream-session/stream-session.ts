import { DurableObject } from "cloudflare:workers";
import { messagesRepairFormat } from "../../anthropic/messages-repair";
import { anthropicMessagesStream } from "../../anthropic/messages-stream";
import type { RetryPrompts } from "../../gemini/types";
import { type ChatContinuation, chatRepairFormat } from "../../openai/chat-repair";
import { openaiChatStream } from "../../openai/chat-stream";
import { ContinuationAligner } from "../../stream/aligner";
import { attemptHeaders } from "../../stream/attempt-headers";
import type { StreamGuardConfig } from "../../stream/guard-config";
import { PrefixAligner } from "../../stream/prefix-aligner";
import { RepairEngine } from "../../stream/repair-engine";
import type {
  RepairAttemptRecord,
  RepairBounds,
  RepairEvent,
  RepairFormat,
  RepairSummary,
} from "../../stream/repair-types";
import type { StreamFormat } from "../../stream/stream-format";
import type { EndpointConfig } from "../../transport/endpoint";
import { dispatch } from "../failover/failover";
import { coolingAsAnswer } from "../failover/key-dispatch";
import { streamGuardInspector } from "../failover/stream-guard-inspector";
import { HealthViews, isolateHealthViews } from "../health/health-snapshot";
import { recordSessionEvent, type SessionEvent } from "../health/session-counters";
import { sessionErrorResponse, startErrorOf } from "../session-errors";
import { framedStart } from "../session-head";
import { endedWell, SessionClients, sessionClock, sessionEndLog } from "../session-lifecycle";
import { SESSION_RETENTION_MS, settleSessionReports } from "../session-reports";
import { StreamEventLog, streamClientBody } from "./stream-event-log";

export const STREAM_SESSION_ID_HEADER = "x-proxy-session-id";

export type RepairWireFormat = "openai-chat" | "anthropic-messages";

/** What the Worker sends to start a session (JSON over the object's `fetch`, with the parsed request). */
export interface StreamSessionStart {
  format: RepairWireFormat;
  endpoint: EndpointConfig;
  upstream: { rest: string; search: string };
  /** The client's headers, API key included: held in memory only, never stored. */
  headers: [string, string][];
  prompts: RetryPrompts;
  bounds: Partial<RepairBounds>;
  graceMs: number;
  aggressiveFallback: boolean;
  /** How an OpenAI-style endpoint continues (`chat-repair.ts`). */
  continuation: ChatContinuation;
  guard: StreamGuardConfig;
  debug: boolean;
}

const GUARD_FORMATS: Record<RepairWireFormat, StreamFormat> = {
  "openai-chat": openaiChatStream,
  "anthropic-messages": anthropicMessagesStream,
};

const encoder = new TextEncoder();

/**
 * One protected OpenAI chat completions or Anthropic Messages stream (issue 12): owns the upstream attempts through
 * the repair engine (`src/stream/repair-engine.ts`), records every client event in SQLite, serves the client and any
 * re-attaching client from that log, and stops the upstream once no client has been attached for the grace period.
 * Entry points (over `fetch`, so a client disconnect reaches the object as a cancelled body): `POST /start` and
 * `GET /attach?from=n`. Each attempt goes through `dispatch()` with the stream guard, so a target that fails before
 * content fails over unseen and every cut is charged to the target that produced it.
 */
export class StreamSession extends DurableObject<Env> {
  #log: StreamEventLog | null = null;
  readonly #clients = new SessionClients(0);
  readonly #views = new HealthViews({ parent: isolateHealthViews });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      if (!StreamEventLog.exists(ctx.storage.sql)) return;
      this.#eventLog();
      if ((await ctx.storage.getAlarm()) === null) await this.#armRetention();
    });
  }

  #armRetention(): Promise<void> {
    return this.ctx.storage.setAlarm(Date.now() + SESSION_RETENTION_MS);
  }

  #eventLog(): StreamEventLog {
    const sql = this.ctx.storage.sql;
    this.#log ??= new StreamEventLog(sql, (why) => {
      // Called while the log is being built (an interrupted session): the format is read from storage directly.
      const stored = sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'format'").toArray()[0]?.v;
      const format =
        GUARD_FORMATS[(stored as RepairWireFormat | undefined) ?? "openai-chat"] ?? openaiChatStream;
      return format.errorEvent({ reason: "truncated", message: `gateway: generation stopped: ${why}` });
    });
    return this.#log;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/start" && request.method === "POST") {
      let parsed: { start: StreamSessionStart; request: Record<string, unknown> };
      try {
        parsed = (await request.json()) as typeof parsed;
      } catch {
        return errorResponse(400, "malformed session start");
      }
      return this.#start(parsed.start, parsed.request);
    }
    if (url.pathname === "/attach") return this.#attach(Number(url.searchParams.get("from") ?? "0"));
    return errorResponse(404, "unknown session operation");
  }

  async #start(start: StreamSessionStart, request: Record<string, unknown>): Promise<Response> {
    const log = this.#eventLog();
    if (log.getMeta("format") !== null) return errorResponse(409, "session already started");
    await this.#armRetention();
    log.setMeta("format", start.format);
    this.#clients.begin(start.graceMs);
    const waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);
    recordSessionEvent(this.env, waitUntil, "stream.started");
    const format: RepairFormat<Record<string, unknown>> =
      start.format === "openai-chat"
        ? chatRepairFormat(request, start.continuation, start.prompts)
        : messagesRepairFormat(start.prompts);
    const inspect = streamGuardInspector(GUARD_FORMATS[start.format], start.guard);
    const engine = new RepairEngine({
      request,
      format,
      runAttempt: async (body, signal) => {
        const bytes = encoder.encode(JSON.stringify(body));
        const headers = attemptHeaders(start.headers, bytes.byteLength);
        const { response } = await dispatch(
          start.endpoint,
          { method: "POST", rest: start.upstream.rest, search: start.upstream.search, headers, body: bytes },
          {
            env: this.env,
            waitUntil,
            aggressiveFallback: start.aggressiveFallback,
            signal,
            views: this.#views,
            inspect,
          },
        ).catch(coolingAsAnswer);
        return response;
      },
      createAligner: (sent, prefix) =>
        prefix ? new PrefixAligner(sent, format.prefixTrimsWhitespace) : new ContinuationAligner(sent),
      clock: sessionClock,
      bounds: start.bounds,
      signal: this.#clients.signal,
      onAttempt: (record: RepairAttemptRecord) => {
        if (record.mode === "continuation") recordSessionEvent(this.env, waitUntil, "stream.continuation");
        if (start.debug) {
          const session = this.ctx.id.toString().slice(0, 12);
          console.log(
            JSON.stringify({ msg: "stream_repair_attempt", session, format: start.format, ...record }),
          );
        }
      },
    });
    let resolveFirst: (e: RepairEvent | null) => void = () => {};
    const first = new Promise<RepairEvent | null>((r) => {
      resolveFirst = r;
    });
    const pump = this.#pump(engine, log, start, resolveFirst).catch((err: unknown) => {
      console.error(JSON.stringify({ msg: "stream_session_crashed", error: String(err) }));
      log.fail("the session failed");
      resolveFirst(null);
    });
    this.ctx.waitUntil(pump);
    return this.#framedStart(log, first);
  }

  /** Answers `/start` at once (framing of `session-head.ts`): the head waits for the engine's first event. */
  #framedStart(log: StreamEventLog, first: Promise<RepairEvent | null>): Response {
    const detach = this.#clients.attach();
    return framedStart(first, detach, (ev) =>
      ev === null || ev.type === "http_error"
        ? { kind: "error", ...httpErrorOf(ev) }
        : { kind: "client", response: this.#clientResponse(log, 0, detach) },
    );
  }

  async #pump(
    engine: RepairEngine<Record<string, unknown>>,
    log: StreamEventLog,
    start: StreamSessionStart,
    resolveFirst: (e: RepairEvent | null) => void,
  ): Promise<void> {
    const gen = engine.run();
    let summary: RepairSummary;
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        summary = next.value;
        break;
      }
      if (next.value.type === "events") for (const event of next.value.events) log.append(event);
      resolveFirst(next.value);
    }
    resolveFirst(null);
    this.#clients.end();
    const ok = endedWell(summary);
    const events: SessionEvent[] = [ok ? "stream.completed" : "stream.failed"];
    if (summary.recovered) events.push("stream.recovered");
    // Counted before the log ends, so a client that saw the end also sees it in /health.
    await settleSessionReports(this.env, (p) => this.ctx.waitUntil(p), this.#views, events);
    log.finish({ result: summary.result });
    await this.#armRetention();
    console.log(sessionEndLog("stream_session", this.ctx.id.toString().slice(0, 12), start, summary));
  }

  #attach(from: number): Response {
    if (!StreamEventLog.exists(this.ctx.storage.sql)) return errorResponse(404, "no such session");
    const log = this.#eventLog();
    if (log.getMeta("format") === null) return errorResponse(404, "no such session");
    if (log.end?.result === "http_error") return errorResponse(410, "this session ended with an HTTP error");
    if (!Number.isInteger(from) || from < 0) return errorResponse(400, "from must be a non-negative integer");
    return this.#clientResponse(log, from, this.#clients.attach());
  }

  #clientResponse(log: StreamEventLog, from: number, detach: () => void): Response {
    const headers = new Headers({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      [STREAM_SESSION_ID_HEADER]: this.ctx.id.toString(),
    });
    return new Response(streamClientBody(log, from, detach), { status: 200, headers });
  }

  override async alarm(): Promise<void> {
    if (this.#clients.running) return this.#armRetention();
    this.#log = null;
    await this.ctx.storage.deleteAll();
  }
}

function httpErrorOf(ev: RepairEvent | null): { status: number; headers: Headers; body: string } {
  return startErrorOf(ev, "stream_session", "stream session");
}

function errorResponse(status: number, message: string): Response {
  return sessionErrorResponse("stream_session", status, message);
}

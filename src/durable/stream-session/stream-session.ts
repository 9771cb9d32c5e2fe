import { messagesRepairFormat } from "../../anthropic/messages-repair";
import { anthropicMessagesStream } from "../../anthropic/messages-stream";
import type { RetryPrompts } from "../../gemini/types";
import { type ChatContinuation, chatRepairFormat } from "../../openai/chat-repair";
import { openaiChatStream } from "../../openai/chat-stream";
import { ContinuationAligner } from "../../stream/aligner";
import { attemptHeaders } from "../../stream/attempt-headers";
import { drain } from "../../stream/drain";
import type { StreamGuardConfig } from "../../stream/guard-config";
import { PrefixAligner } from "../../stream/prefix-aligner";
import { RepairEngine } from "../../stream/repair-engine";
import type { RepairAttemptRecord, RepairBounds, RepairEvent, RepairFormat } from "../../stream/repair-types";
import type { StreamFormat } from "../../stream/stream-format";
import type { EndpointConfig } from "../../transport/endpoint";
import { dispatch } from "../failover/failover";
import { coolingAsAnswer } from "../failover/key-dispatch";
import { streamGuardInspector } from "../failover/stream-guard-inspector";
import { sessionClock } from "../session-lifecycle";
import { deferred, SessionObject } from "../session-object";
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
export class StreamSession extends SessionObject<string, StreamEventLog> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "stream", 0);
  }

  protected override createLog(sql: SqlStorage): StreamEventLog {
    return new StreamEventLog(sql, (why) => {
      // Called while the log is being built (an interrupted session): the format is read from storage directly.
      const stored = sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'format'").toArray()[0]?.v;
      const format =
        GUARD_FORMATS[(stored as RepairWireFormat | undefined) ?? "openai-chat"] ?? openaiChatStream;
      return format.errorEvent({ reason: "truncated", message: `gateway: generation stopped: ${why}` });
    });
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/start" && request.method === "POST") {
      let parsed: { start: StreamSessionStart; request: Record<string, unknown> };
      try {
        parsed = (await request.json()) as typeof parsed;
      } catch {
        return this.errorResponse(400, "malformed session start");
      }
      return this.#start(parsed.start, parsed.request);
    }
    if (url.pathname === "/attach") return this.#attach(Number(url.searchParams.get("from") ?? "0"));
    return this.errorResponse(404, "unknown session operation");
  }

  async #start(start: StreamSessionStart, request: Record<string, unknown>): Promise<Response> {
    const log = this.eventLog();
    if (log.getMeta("format") !== null) return this.errorResponse(409, "session already started");
    await this.armRetention();
    log.setMeta("format", start.format);
    this.clients.begin(start.graceMs);
    this.record("stream.started");
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
            waitUntil: this.waitUntil,
            aggressiveFallback: start.aggressiveFallback,
            signal,
            views: this.views,
            inspect,
          },
        ).catch(coolingAsAnswer);
        return response;
      },
      createAligner: (sent, prefix) =>
        prefix ? new PrefixAligner(sent, format.prefixTrimsWhitespace) : new ContinuationAligner(sent),
      clock: sessionClock,
      bounds: start.bounds,
      signal: this.clients.signal,
      onAttempt: (record: RepairAttemptRecord) => {
        if (record.mode === "continuation") this.record("stream.continuation");
        if (start.debug) {
          console.log(
            JSON.stringify({
              msg: "stream_repair_attempt",
              session: this.logId,
              format: start.format,
              ...record,
            }),
          );
        }
      },
    });
    const { promise: first, resolve: resolveFirst } = deferred<RepairEvent | null>();
    this.runPump(this.#pump(engine, log, start, resolveFirst), log, resolveFirst);
    return this.framedStart(log, first);
  }

  async #pump(
    engine: RepairEngine<Record<string, unknown>>,
    log: StreamEventLog,
    start: StreamSessionStart,
    resolveFirst: (e: RepairEvent | null) => void,
  ): Promise<void> {
    const summary = await drain(engine.run(), (ev) => {
      if (ev.type === "events") for (const event of ev.events) log.append(event);
      resolveFirst(ev);
    });
    resolveFirst(null);
    await this.endSession(log, start, summary);
  }

  #attach(from: number): Response {
    const log = this.attachableLog();
    if (log instanceof Response) return log;
    if (!Number.isInteger(from) || from < 0)
      return this.errorResponse(400, "from must be a non-negative integer");
    return this.clientResponse(log, from, this.clients.attach());
  }

  protected override clientResponse(log: StreamEventLog, from: number, detach: () => void): Response {
    const headers = new Headers({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      [STREAM_SESSION_ID_HEADER]: this.ctx.id.toString(),
    });
    return new Response(streamClientBody(log, from, detach), { status: 200, headers });
  }
}

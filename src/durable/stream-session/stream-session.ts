import { DurableObject } from "cloudflare:workers";
import { messagesRepairFormat } from "../../anthropic/messages-repair";
import { anthropicMessagesStream } from "../../anthropic/messages-stream";
import type { RetryPrompts } from "../../gemini/types";
import { type ChatContinuation, chatRepairFormat } from "../../openai/chat-repair";
import { openaiChatStream } from "../../openai/chat-stream";
import { ContinuationAligner } from "../../stream/aligner";
import type { StreamGuardConfig } from "../../stream/guard-config";
import { PrefixAligner } from "../../stream/prefix-aligner";
import { RepairEngine } from "../../stream/repair-engine";
import type {
  RepairAttemptRecord,
  RepairBounds,
  RepairClock,
  RepairEvent,
  RepairFormat,
  RepairSummary,
} from "../../stream/repair-types";
import type { StreamFormat } from "../../stream/stream-format";
import type { EndpointConfig } from "../../transport/endpoint";
import { googleStatusFor } from "../../transport/errors";
import { dispatch } from "../failover/failover";
import { coolingAsAnswer } from "../failover/key-dispatch";
import { streamGuardInspector } from "../failover/stream-guard-inspector";
import { HealthViews, isolateHealthViews } from "../health/health-snapshot";
import { recordSessionEvent, type SessionEvent, sendSessionEvents } from "../health/session-counters";
import { encodeHead } from "../session-head";
import { StreamEventLog, streamClientBody } from "./stream-event-log";

export const STREAM_SESSION_ID_HEADER = "x-proxy-session-id";
/** How long a session's events stay available for re-attach (as for Gemini sessions). */
export const STREAM_SESSION_RETENTION_MS = 10 * 60_000;
const REPORT_SETTLE_TIMEOUT_MS = 2_000;

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

/** Headers that describe the client's own body: each attempt sends a new JSON body and reads plain SSE. */
const REPLACED_HEADERS = [
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "accept-encoding",
  "accept",
];

const encoder = new TextEncoder();

const realClock: RepairClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<boolean>((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

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
  readonly #abort = new AbortController();
  #clients = 0;
  #running = false;
  #graceMs = 0;
  #graceTimer: ReturnType<typeof setTimeout> | null = null;
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
    return this.ctx.storage.setAlarm(Date.now() + STREAM_SESSION_RETENTION_MS);
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
    this.#graceMs = start.graceMs;
    this.#running = true;
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
        const headers = new Headers(start.headers);
        for (const name of REPLACED_HEADERS) headers.delete(name);
        headers.set("content-type", "application/json");
        headers.set("accept", "text/event-stream");
        headers.set("accept-encoding", "identity");
        headers.set("content-length", String(bytes.byteLength));
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
      clock: realClock,
      bounds: start.bounds,
      signal: this.#abort.signal,
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
      if (log.end === null) {
        if (log.length > 0) {
          log.append(
            GUARD_FORMATS[start.format].errorEvent({
              reason: "truncated",
              message: "gateway: the session failed",
            }),
          );
        }
        log.finish({ result: "failed" });
      }
      resolveFirst(null);
    });
    this.ctx.waitUntil(pump);
    return this.#framedStart(log, first);
  }

  /** Answers `/start` at once (framing of `session-head.ts`): the head waits for the engine's first event. */
  #framedStart(log: StreamEventLog, first: Promise<RepairEvent | null>): Response {
    const detach = this.#attachClient();
    let inner: ReadableStreamDefaultReader<Uint8Array> | null = null;
    const framed = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (inner === null) {
            const ev = await first;
            if (ev === null || ev.type === "http_error") {
              const { status, headers, body } = httpErrorOf(ev);
              controller.enqueue(encodeHead({ status, headers: [...headers] }));
              controller.enqueue(encoder.encode(body));
              controller.close();
              detach();
              return;
            }
            const client = this.#clientResponse(log, 0, detach);
            inner = (client.body as ReadableStream<Uint8Array>).getReader();
            controller.enqueue(encodeHead({ status: client.status, headers: [...client.headers] }));
            return;
          }
          const step = await inner.read();
          if (step.done) controller.close();
          else controller.enqueue(step.value);
        } catch (err) {
          detach();
          try {
            controller.error(err);
          } catch {}
        }
      },
      cancel: (reason) => {
        detach();
        return inner?.cancel(reason);
      },
    });
    return new Response(framed, { status: 200, headers: { "content-type": "application/octet-stream" } });
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
    this.#running = false;
    this.#clearGrace();
    const ok =
      summary.result === "complete" || summary.result === "max_tokens" || summary.result === "blocked";
    const events: SessionEvent[] = [ok ? "stream.completed" : "stream.failed"];
    if (summary.recovered) events.push("stream.recovered");
    // Counted before the log ends, so a client that saw the end also sees it in /health.
    await this.#settleReports(events);
    log.finish({ result: summary.result });
    await this.#armRetention();
    console.log(
      JSON.stringify({
        msg: "stream_session",
        session: this.ctx.id.toString().slice(0, 12),
        endpoint: start.endpoint.name,
        format: start.format,
        result: summary.result,
        finish_reason: summary.finishReason,
        attempts: summary.attempts.length,
        continuations: summary.continuations,
        recovered: summary.recovered,
        removed_chars: summary.removedChars,
        answer_chars: summary.answerChars,
        outcomes: summary.attempts.map((a) => `${a.mode}:${a.outcome}:${a.reason}`),
      }),
    );
  }

  #attach(from: number): Response {
    if (!StreamEventLog.exists(this.ctx.storage.sql)) return errorResponse(404, "no such session");
    const log = this.#eventLog();
    if (log.getMeta("format") === null) return errorResponse(404, "no such session");
    if (log.end?.result === "http_error") return errorResponse(410, "this session ended with an HTTP error");
    if (!Number.isInteger(from) || from < 0) return errorResponse(400, "from must be a non-negative integer");
    return this.#clientResponse(log, from, this.#attachClient());
  }

  #attachClient(): () => void {
    this.#clients++;
    this.#clearGrace();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#clients--;
      if (this.#clients === 0 && this.#running) this.#startGrace();
    };
  }

  #clientResponse(log: StreamEventLog, from: number, detach: () => void): Response {
    const headers = new Headers({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      [STREAM_SESSION_ID_HEADER]: this.ctx.id.toString(),
    });
    return new Response(streamClientBody(log, from, detach), { status: 200, headers });
  }

  /** Sends the final session events and waits (bounded) for them and this session's health reports. */
  async #settleReports(events: SessionEvent[]): Promise<void> {
    const waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);
    const done = Promise.all([sendSessionEvents(this.env, waitUntil, events), this.#views.settle()]);
    const timer = new AbortController();
    await Promise.race([done, realClock.sleep(REPORT_SETTLE_TIMEOUT_MS, timer.signal)]).catch(() => {});
    timer.abort();
    done.catch(() => {});
  }

  override async alarm(): Promise<void> {
    if (this.#running) return this.#armRetention();
    this.#log = null;
    await this.ctx.storage.deleteAll();
  }

  #startGrace(): void {
    this.#clearGrace();
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      if (this.#clients === 0 && this.#running) this.#abort.abort();
    }, this.#graceMs);
  }

  #clearGrace(): void {
    if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
  }
}

function httpErrorOf(ev: RepairEvent | null): { status: number; headers: Headers; body: string } {
  if (ev === null || ev.type !== "http_error") {
    const status = 502;
    const body = JSON.stringify({
      error: { code: status, status: googleStatusFor(status), message: "stream session failed to start" },
    });
    return {
      status,
      body,
      headers: new Headers({
        "content-type": "application/json; charset=UTF-8",
        "x-proxy-error": "stream_session",
      }),
    };
  }
  const headers = new Headers({ "content-type": ev.contentType });
  if (!ev.passthrough) headers.set("x-proxy-error", ev.reason);
  if (ev.retryAfter !== undefined) headers.set("retry-after", ev.retryAfter);
  return { status: ev.status, headers, body: ev.body };
}

function errorResponse(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: { code: status, status: googleStatusFor(status), message } }), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8", "x-proxy-error": "stream_session" },
  });
}

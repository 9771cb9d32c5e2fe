import { DurableObject } from "cloudflare:workers";
import type { OpenAIStreamMeta } from "../gemini/encoders";
import { ContinuationEngine } from "../gemini/engine";
import { DEFAULT_CONTINUATION_KIT } from "../gemini/engine-kit";
import type {
  AttemptRecord,
  EngineBounds,
  EngineClock,
  EngineEvent,
  EngineSummary,
} from "../gemini/engine-types";
import type { GenerateContentRequest, RetryPrompts } from "../gemini/types";
import type { EndpointConfig } from "../transport/endpoint";
import { googleStatusFor } from "../transport/errors";
import { type ClientFormat, CONTENT_TYPES, clientBody } from "./gemini-client-stream";
import { GeminiEventLog } from "./gemini-event-log";
import { geminiUpstream } from "./gemini-upstream";
import { recordSessionEvent } from "./session-counters";

/** How long a session keeps generating after its last client left, waiting for a re-attach. */
export const DEFAULT_GRACE_MS = 15_000;
export const SESSION_ID_HEADER = "x-proxy-session-id";

/** What the Worker sends to start a session (JSON over the object's `fetch`). */
export interface SessionStart {
  format: ClientFormat;
  endpoint: EndpointConfig;
  /** Upstream SSE route for every attempt. */
  upstream: { rest: string; search: string };
  /** The client's headers, API key included: held in memory only, never stored. */
  headers: [string, string][];
  request: GenerateContentRequest;
  prompts: RetryPrompts;
  bounds: Partial<EngineBounds>;
  graceMs: number;
  aggressiveFallback: boolean;
  openai?: OpenAIStreamMeta;
  debug: boolean;
}

const realClock: EngineClock = {
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
 * One protected Gemini generation (issue 5): owns the upstream attempts through the engine, records every emitted
 * event in SQLite, serves the client and any re-attaching client from that log, and stops the upstream once no
 * client has been attached for the grace period. Entry points (over `fetch`, because client disconnects must reach
 * the object as a cancelled body): `POST /start` (JSON `SessionStart`) and `GET /attach?from=n`.
 */
export class GeminiSession extends DurableObject<Env> {
  #log: GeminiEventLog | null = null;
  readonly #abort = new AbortController();
  #clients = 0;
  #running = false;
  #graceMs = DEFAULT_GRACE_MS;
  #graceTimer: ReturnType<typeof setTimeout> | null = null;

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/start" && request.method === "POST") {
      return this.#start((await request.json()) as SessionStart);
    }
    if (url.pathname === "/attach") return this.#attach(Number(url.searchParams.get("from") ?? "0"));
    return errorResponse(404, "unknown session operation");
  }

  #eventLog(): GeminiEventLog {
    this.#log ??= new GeminiEventLog(this.ctx.storage.sql);
    return this.#log;
  }

  async #start(start: SessionStart): Promise<Response> {
    const log = this.#eventLog();
    if (log.getMeta("format") !== null) return errorResponse(409, "session already started");
    log.setMeta("format", start.format);
    if (start.openai) log.setMeta("openai", JSON.stringify(start.openai));
    this.#graceMs = start.graceMs;
    this.#running = true;
    const env = this.env;
    const waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);
    recordSessionEvent(env, waitUntil, "gemini.started");
    const engine = new ContinuationEngine({
      request: start.request,
      runAttempt: geminiUpstream({
        env,
        endpoint: start.endpoint,
        rest: start.upstream.rest,
        search: start.upstream.search,
        headers: start.headers,
        aggressiveFallback: start.aggressiveFallback,
        waitUntil,
      }),
      kit: DEFAULT_CONTINUATION_KIT,
      prompts: start.prompts,
      clock: realClock,
      bounds: start.bounds,
      signal: this.#abort.signal,
      onAttempt: (record: AttemptRecord) => {
        if (record.mode === "continuation") recordSessionEvent(env, waitUntil, "gemini.continuation");
      },
    });
    let resolveFirst: (e: EngineEvent | null) => void = () => {};
    const first = new Promise<EngineEvent | null>((r) => {
      resolveFirst = r;
    });
    const pump = this.#pump(engine, log, start, resolveFirst).catch((err: unknown) => {
      console.error(JSON.stringify({ msg: "gemini_session_crashed", error: String(err) }));
      if (log.end === null) log.finish({ result: "failed" });
      resolveFirst(null);
    });
    this.ctx.waitUntil(pump);
    const ev = await first;
    if (ev === null) return errorResponse(502, "gemini session failed to start");
    if (ev.type === "http_error") {
      const headers = new Headers({ "content-type": ev.contentType });
      if (!ev.passthrough) headers.set("x-proxy-error", ev.reason);
      if (ev.retryAfter !== undefined) headers.set("retry-after", ev.retryAfter);
      return new Response(ev.body, { status: ev.status, headers });
    }
    return this.#attach(0);
  }

  async #pump(
    engine: ContinuationEngine,
    log: GeminiEventLog,
    start: SessionStart,
    resolveFirst: (e: EngineEvent | null) => void,
  ): Promise<void> {
    const gen = engine.run();
    let summary: EngineSummary;
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        summary = next.value;
        break;
      }
      if (next.value.type === "chunk") log.append(next.value.chunk);
      resolveFirst(next.value);
    }
    resolveFirst(null);
    if (summary.result === "aborted" && log.length > 0) {
      // Whoever re-reads this log must see an explicit failure, never a silent clean end.
      log.append({
        candidates: [
          {
            content: { role: "model", parts: [{ text: "" }] },
            finishReason: "OTHER",
            finishMessage: "gateway: generation stopped because the client disconnected",
            index: 0,
          },
        ],
      });
    }
    this.#running = false;
    this.#clearGrace();
    log.finish({ result: summary.result });
    const waitUntil = (p: Promise<unknown>) => this.ctx.waitUntil(p);
    const ok =
      summary.result === "complete" || summary.result === "max_tokens" || summary.result === "blocked";
    recordSessionEvent(this.env, waitUntil, ok ? "gemini.completed" : "gemini.failed");
    if (summary.recovered) recordSessionEvent(this.env, waitUntil, "gemini.recovered");
    console.log(
      JSON.stringify({
        msg: "gemini_session",
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
    const log = this.#eventLog();
    const format = log.getMeta("format") as ClientFormat | null;
    if (format === null) return errorResponse(404, "no such Gemini session");
    if (log.end?.result === "http_error") return errorResponse(410, "this session ended with an HTTP error");
    if (!Number.isInteger(from) || from < 0) return errorResponse(400, "from must be a non-negative integer");
    const openai = log.getMeta("openai");
    this.#clients++;
    this.#clearGrace();
    let attached = true;
    const detach = () => {
      if (!attached) return;
      attached = false;
      this.#clients--;
      if (this.#clients === 0 && this.#running) this.#startGrace();
    };
    const body = clientBody(log, {
      format,
      from,
      ...(openai ? { openai: JSON.parse(openai) as OpenAIStreamMeta } : {}),
      onCancel: detach,
      onDone: detach,
    });
    const headers = new Headers({
      "content-type": CONTENT_TYPES[format],
      "cache-control": "no-cache",
      [SESSION_ID_HEADER]: this.ctx.id.toString(),
    });
    return new Response(body, { status: 200, headers });
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

function errorResponse(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: { code: status, status: googleStatusFor(status), message } }), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8", "x-proxy-error": "gemini_session" },
  });
}

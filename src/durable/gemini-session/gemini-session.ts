import { ENCODED_CONTINUATION_KIT, type EncodedRequest } from "../../gemini/continuation-bytes";
import type { OpenAIStreamMeta } from "../../gemini/encoders";
import { ContinuationEngine } from "../../gemini/engine";
import { DEFAULT_GRACE_MS } from "../../gemini/engine-config";
import {
  type AttemptRecord,
  DEFAULT_ENGINE_BOUNDS,
  type EngineBounds,
  type EngineEvent,
  type RunAttempt,
} from "../../gemini/engine-types";
import type { GenerateContentResponse, RetryPrompts } from "../../gemini/types";
import { drain } from "../../stream/drain";
import type { EndpointConfig } from "../../transport/endpoint";
import { sessionClock } from "../session-lifecycle";
import { deferred, SessionObject } from "../session-object";
import { type AdoptStart, type FedAttempt, readAdopt } from "./gemini-adopt";
import { type ClientFormat, CONTENT_TYPES, clientBody } from "./gemini-client-stream";
import { abortedChunk, GeminiEventLog } from "./gemini-event-log";
import { handoverBody } from "./gemini-handover";
import { readSessionStart, startOutcomeResponse } from "./gemini-start";
import { geminiUpstream } from "./gemini-upstream";

/**
 * The object's first-byte and idle timeouts on a fed first attempt are the bounds plus this: the Worker's engine
 * decides that attempt's end (and ends the feed with it), so this engine only times out a feed whose Worker is gone.
 */
export const FED_ATTEMPT_SLACK_MS = 30_000;
/** How long a hand-over (`/events` with a digest) waits for an `/adopt` that has not begun yet. */
const HANDOVER_WAIT_MS = 10_000;
/**
 * How long a re-attach to an id without a session waits for an `/adopt` that has not begun yet. A fast start hands
 * the client its session id with the first event, before its object has been fed (`gemini-fast-start.ts`), so a
 * client that drops at once and re-attaches can reach the object first. An id that holds no session answers 404
 * after this wait.
 */
const ATTACH_ADOPT_WAIT_MS = 2_000;

export const SESSION_ID_HEADER = "x-proxy-session-id";

/** What the Worker sends to start a session (`gemini-start.ts`: this as JSON, then the request's bytes). */
export interface SessionStart {
  format: ClientFormat;
  endpoint: EndpointConfig;
  /** Upstream SSE route for every attempt. */
  upstream: { rest: string; search: string };
  /** The client's headers, API key included: held in memory only, never stored. */
  headers: [string, string][];
  prompts: RetryPrompts;
  bounds: Partial<EngineBounds>;
  graceMs: number;
  aggressiveFallback: boolean;
  openai?: OpenAIStreamMeta;
  debug: boolean;
}

/**
 * One protected Gemini generation (issue 5): owns the upstream attempts through the engine, records every emitted
 * event in SQLite, serves the client and any re-attaching client from that log, and stops the upstream once no
 * client has been attached for the grace period. Entry points (over `fetch`, because client disconnects must reach
 * the object as a cancelled body): `POST /start` (JSON `SessionStart`), `GET /attach?from=n`, and the Worker's fast
 * start (issue 13, `gemini-fast-start.ts`): `POST /adopt` (the settings, the request and the first attempt the Worker
 * made, as its engine read it), `GET /events?from=k&digest=d` (the log from `k` as lines, for the hand-over to the
 * object once a continuation is needed) and `POST /detach` (the Worker's client left during the first attempt).
 */
export class GeminiSession extends SessionObject<GenerateContentResponse, GeminiEventLog> {
  /**
   * An adopted session counts the Worker's client as attached until the feed ends, the Worker says its client left
   * (`/detach`, which may arrive before `/adopt` has begun), or the Worker hands it over (`/events`).
   */
  #workerDetach: (() => void) | null = null;
  #workerLeft = false;
  #adopted: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "gemini", DEFAULT_GRACE_MS);
  }

  protected override createLog(sql: SqlStorage): GeminiEventLog {
    return new GeminiEventLog(sql);
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/start" && request.method === "POST") {
      const read = await readSessionStart(request);
      if (read.kind === "malformed") return this.errorResponse(400, "malformed session start");
      if (read.kind !== "session") return startOutcomeResponse(read) as Response;
      return this.#start(read.start, read.request);
    }
    if (url.pathname === "/attach") {
      const from = Number(url.searchParams.get("from") ?? "0");
      if (!Number.isInteger(from) || from < 0)
        return this.errorResponse(400, "from must be a non-negative integer");
      if (!this.hasSession()) await this.#awaitAdopt(ATTACH_ADOPT_WAIT_MS);
      return this.#attach(from);
    }
    if (url.pathname === "/adopt" && request.method === "POST") {
      const read = await readAdopt(request);
      if (read.kind === "malformed") return this.errorResponse(400, "malformed session adopt");
      return this.#adopt(read.start, read.request, read.attempt);
    }
    if (url.pathname === "/events") {
      const from = Number(url.searchParams.get("from") ?? "0");
      return this.#events(from, url.searchParams.get("digest"));
    }
    if (url.pathname === "/detach" && request.method === "POST") {
      this.#workerLeft = true;
      this.#workerDetach?.();
      return new Response(null, { status: 204 });
    }
    return this.errorResponse(404, "unknown session operation");
  }

  async #start(start: SessionStart, request: EncodedRequest): Promise<Response> {
    const log = this.eventLog();
    if (log.getMeta("format") !== null) return this.errorResponse(409, "session already started");
    const { first } = this.#run(start, request, null);
    this.#adopted?.resolve(); // a re-attach that overtook this start waits for it like for an adopt
    return this.framedStart(log, first);
  }

  /**
   * A session whose first attempt the Worker made and serves (issue 13): the engine reads that attempt from the feed
   * (the same bytes the Worker's engine read, so both reach the same events), then continues on its own. Answers
   * once the feed is over, so the Worker can stop an upstream this object no longer reads.
   */
  async #adopt(start: AdoptStart, request: EncodedRequest, attempt: FedAttempt): Promise<Response> {
    const log = this.eventLog();
    if (log.getMeta("format") !== null) {
      attempt.cancel();
      return this.errorResponse(409, "session already started");
    }
    // One deadline for both engines: the Worker's started first.
    const deadlineMs = start.bounds.deadlineMs ?? DEFAULT_ENGINE_BOUNDS.deadlineMs;
    const elapsed = Math.max(0, Date.now() - start.startedAt);
    const bounds = { ...start.bounds, deadlineMs: Math.max(1, deadlineMs - elapsed) };
    const { done } = this.#run({ ...start, bounds }, request, attempt);
    this.#workerDetach = this.clients.attach();
    if (this.#workerLeft) this.#workerDetach();
    this.#adopted?.resolve();
    // A broken feed means the Worker (and so its client) is gone. A clean end keeps the Worker's client attached:
    // the Worker hands it over (`/events`) after the wait before the next attempt, or tells the object it left. A
    // Worker that did neither within that wait and the grace period is gone too (its context ended between the
    // feed's end and the hand-over): its client stops counting, and the grace period runs as for any client that
    // left, instead of the generation running on for nobody until its bounds end it.
    void attempt.done.then((how) => {
      if (how === "failed") {
        this.#workerDetach?.();
        return;
      }
      setTimeout(() => this.#workerDetach?.(), handoverExpectedWithinMs({ ...start, bounds }));
    });
    await Promise.race([attempt.done, done]);
    attempt.cancel();
    return new Response(null, { status: 204 });
  }

  /** Starts the engine (in `waitUntil`): `first` resolves with its first event, `done` once the session ended. */
  #run(
    start: SessionStart,
    request: EncodedRequest,
    fed: FedAttempt | null,
  ): { first: Promise<EngineEvent | null>; done: Promise<void> } {
    const log = this.eventLog();
    // The deadline exists before the first stored byte; the alarm pushes it out while the generation runs.
    void this.armRetention();
    log.setMeta("format", start.format);
    if (start.openai) log.setMeta("openai", JSON.stringify(start.openai));
    this.clients.begin(start.graceMs);
    this.record("gemini.started");
    const upstream = geminiUpstream({
      start,
      env: this.env,
      waitUntil: this.waitUntil,
      views: this.views,
    });
    let runAttempt: RunAttempt<EncodedRequest> = upstream;
    if (fed !== null) {
      let first = true;
      runAttempt = (body, signal) => {
        if (!first) return upstream(body, signal);
        first = false;
        return fed.response(signal);
      };
    }
    const engine = new ContinuationEngine<EncodedRequest>({
      request,
      runAttempt,
      ...(fed !== null ? { firstAttemptSlackMs: FED_ATTEMPT_SLACK_MS } : {}),
      kit: ENCODED_CONTINUATION_KIT,
      prompts: start.prompts,
      clock: sessionClock,
      bounds: start.bounds,
      signal: this.clients.signal,
      onAttempt: (record: AttemptRecord) => {
        if (record.mode === "continuation") this.record("gemini.continuation");
        if (start.debug)
          console.log(JSON.stringify({ msg: "gemini_attempt", session: this.logId, ...record }));
      },
    });
    const { promise: first, resolve: resolveFirst } = deferred<EngineEvent | null>();
    const done = this.runPump(this.#pump(engine, log, start, resolveFirst), log, resolveFirst);
    return { first, done };
  }

  async #pump(
    engine: ContinuationEngine<EncodedRequest>,
    log: GeminiEventLog,
    start: SessionStart,
    resolveFirst: (e: EngineEvent | null) => void,
  ): Promise<void> {
    const summary = await drain(engine.run(), (ev) => {
      if (ev.type === "chunk") log.append(ev.chunk);
      else log.setMeta("http_error", JSON.stringify(this.#handoverError(ev)));
      resolveFirst(ev);
    });
    resolveFirst(null);
    if (summary.result === "aborted" && log.length > 0) {
      // Whoever re-reads this log must see an explicit failure, never a silent clean end.
      log.append(abortedChunk("the client disconnected"));
    }
    await this.endSession(log, start, summary);
  }

  /** Waits (bounded) until an `/adopt` (or `/start`) has begun: its session then exists. Holds nothing in storage. */
  async #awaitAdopt(ms: number): Promise<void> {
    this.#adopted ??= deferred();
    const timer = new AbortController();
    await Promise.race([this.#adopted.promise, sessionClock.sleep(ms, timer.signal)]);
    timer.abort();
  }

  #attach(from: number): Response {
    const log = this.attachableLog();
    if (log instanceof Response) return log;
    return this.clientResponse(log, from, this.clients.attach());
  }

  /**
   * The hand-over (`gemini-handover.ts`): the log from `from` as lines, after checking the Worker's digest of the
   * events it delivered. The Worker's client reads through this answer from now on.
   */
  async #events(from: number, digest: string | null): Promise<Response> {
    if (!Number.isInteger(from) || from < 0)
      return this.errorResponse(400, "from must be a non-negative integer");
    const opened = this.openedLog;
    if (opened === null || opened.getMeta("format") === null) {
      // The hand-over may overtake an `/adopt` still reading a large request.
      await this.#awaitAdopt(HANDOVER_WAIT_MS);
    }
    const log = this.openedLog;
    if (log === null) return this.errorResponse(404, "no such Gemini session");
    const detach = this.clients.attach();
    this.#workerDetach?.();
    const httpError = () => {
      const stored = log.getMeta("http_error");
      return stored === null ? null : (JSON.parse(stored) as HandoverError);
    };
    const body = handoverBody(log, httpError, { from, digest, onCancel: detach, onDone: detach });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  }

  protected override clientResponse(log: GeminiEventLog, from: number, detach: () => void): Response {
    const format = log.getMeta("format") as ClientFormat;
    const openai = log.getMeta("openai");
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

  /** The stored form of a session's HTTP error, for a hand-over from event 0 (`HandoverLine`). */
  #handoverError(ev: EngineEvent): HandoverError {
    const { status, headers, body } = this.httpErrorOf(ev);
    return { status, headers: [...headers], body };
  }
}

type HandoverError = { status: number; headers: [string, string][]; body: string };

/**
 * How long after a clean end of the fed attempt the Worker's hand-over may still come: its engine waits at most the
 * longest retry delay of the bounds before the next attempt (which is the hand-over), plus the grace period any
 * client gets. (Detaching after a hand-over, or after the generation ended, changes nothing.)
 */
export function handoverExpectedWithinMs(start: Pick<SessionStart, "bounds" | "graceMs">): number {
  const bounds = { ...DEFAULT_ENGINE_BOUNDS, ...start.bounds };
  return Math.max(bounds.rateLimitMaxDelayMs, bounds.serverErrorMaxDelayMs) + start.graceMs;
}

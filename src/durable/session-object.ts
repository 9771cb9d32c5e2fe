import { DurableObject } from "cloudflare:workers";
import { HealthViews, isolateHealthViews } from "./health/health-snapshot";
import { recordSessionEvent, type SessionEvent } from "./health/session-counters";
import { SESSION_NAMES, type SessionKind, sessionErrorResponse, startErrorOf } from "./session-errors";
import { SessionEventLog } from "./session-event-log";
import { framedStart } from "./session-head";
import { endedWell, SessionClients, type SessionSummary, sessionEndLog } from "./session-lifecycle";
import { SESSION_RETENTION_MS, settleSessionReports } from "./session-reports";

/** An engine's event (Gemini or repair): an HTTP error decides the start's answer, anything else begins the stream. */
type EngineEventOf = NonNullable<Parameters<typeof startErrorOf>[0]>;

/**
 * What a session object does the same way whatever stream it protects (`GeminiSession`, `StreamSession`): its event
 * log in SQLite and the alarm that deletes it, the clients attached and the grace period once none is left, the
 * health views its attempts report through, the framed answer to a start, the checks of a re-attach, the crash path
 * of the engine's pump and the end of a session (counters, health reports, the log line). The subclasses hold the
 * entry points and their engine.
 */
export abstract class SessionObject<T, Log extends SessionEventLog<T>> extends DurableObject<Env> {
  #log: Log | null = null;
  readonly #kind: SessionKind;
  /** Attached clients and the grace period that stops the upstream once none is left. */
  protected readonly clients: SessionClients;
  /**
   * Target health views owned by this object, so every health report of its attempts is its own I/O and it can wait
   * for them before ending. They start from (and keep updating) the records the isolate already knows, so the first
   * attempt is not chosen blind.
   */
  protected readonly views = new HealthViews({ parent: isolateHealthViews });
  protected readonly waitUntil = (p: Promise<unknown>): void => this.ctx.waitUntil(p);

  constructor(ctx: DurableObjectState, env: Env, kind: SessionKind, graceMs: number) {
    super(ctx, env);
    this.#kind = kind;
    this.clients = new SessionClients(graceMs);
    // A restart (eviction, deploy, crash) may find a session stored before its deletion alarm existed: re-check.
    // A new object (no tables) has nothing to check and is not held up.
    if (SessionEventLog.exists(ctx.storage.sql)) ctx.blockConcurrencyWhile(() => this.#ensureExpiry());
  }

  /** The event log of this kind over the object's SQLite (creates its tables). */
  protected abstract createLog(sql: SqlStorage): Log;

  /** The client's stream of the log from event `from`; `detach` once it ends or is cancelled. */
  protected abstract clientResponse(log: Log, from: number, detach: () => void): Response;

  /** Any stored session has a deletion alarm; an interrupted one is finished first (see `SessionEventLog`). */
  async #ensureExpiry(): Promise<void> {
    this.eventLog();
    if ((await this.ctx.storage.getAlarm()) === null) await this.armRetention();
  }

  /** The log, opened (and its tables created) on first use. */
  protected eventLog(): Log {
    this.#log ??= this.createLog(this.ctx.storage.sql);
    return this.#log;
  }

  /** The log if this instance opened it already, without creating tables. */
  protected get openedLog(): Log | null {
    return this.#log;
  }

  /** Whether this object holds a session (read without creating tables for an id that holds none). */
  protected hasSession(): boolean {
    if (this.#log !== null) return this.#log.getMeta("format") !== null;
    return SessionEventLog.exists(this.ctx.storage.sql) && this.eventLog().getMeta("format") !== null;
  }

  /** Sets (or moves) the deletion alarm. The output gate holds every answer until it is stored, so no wait here. */
  protected armRetention(): Promise<void> {
    return this.ctx.storage.setAlarm(Date.now() + SESSION_RETENTION_MS);
  }

  protected errorResponse(status: number, message: string): Response {
    return sessionErrorResponse(this.#kind, status, message);
  }

  /** The answer of a session whose first event is an HTTP error or that produced none (`startErrorOf`). */
  protected httpErrorOf(ev: EngineEventOf | null): ReturnType<typeof startErrorOf> {
    return startErrorOf(ev, this.#kind);
  }

  protected record(event: SessionEvent): void {
    recordSessionEvent(this.env, this.waitUntil, event);
  }

  /** The first 12 characters of the object's id: enough to find its lines, not a capability to re-attach. */
  protected get logId(): string {
    return this.ctx.id.toString().slice(0, 12);
  }

  /**
   * Runs the engine's pump in `waitUntil`. A pump that throws ends the log with an explicit failure, and a start still
   * waiting for its first event gets none (a 502 "failed to start").
   */
  protected runPump(pump: Promise<void>, log: Log, resolveFirst: (ev: null) => void): Promise<void> {
    const running = pump.catch((err: unknown) => {
      console.error(JSON.stringify({ msg: `${SESSION_NAMES[this.#kind].tag}_crashed`, error: String(err) }));
      log.fail("the session failed");
      resolveFirst(null);
    });
    this.ctx.waitUntil(running);
    return running;
  }

  /**
   * Answers a start at once (see `session-head.ts`): the head line waits for the engine's first event, which decides
   * between an HTTP error and the stream. The starting client counts as attached from the beginning.
   */
  protected framedStart(log: Log, first: Promise<EngineEventOf | null>): Response {
    const detach = this.clients.attach();
    return framedStart(first, detach, (ev) =>
      ev === null || ev.type === "http_error"
        ? { kind: "error", ...this.httpErrorOf(ev) }
        : { kind: "client", response: this.clientResponse(log, 0, detach) },
    );
  }

  /**
   * The end of a generation: no client keeps the upstream any longer, the counters and the health reports of its
   * attempts are sent (and awaited, bounded) before the log ends, so a client that saw the end also sees it in
   * `/health`; then the deletion alarm is pushed out and the session's one summary line is written.
   */
  protected async endSession(
    log: Log,
    start: { endpoint: { name: string }; format: string },
    summary: SessionSummary,
  ): Promise<void> {
    const kind = this.#kind;
    this.clients.end();
    const events: SessionEvent[] = [endedWell(summary) ? `${kind}.completed` : `${kind}.failed`];
    if (summary.recovered) events.push(`${kind}.recovered`);
    await settleSessionReports(this.env, this.waitUntil, this.views, events);
    log.finish({ result: summary.result });
    await this.armRetention();
    console.log(sessionEndLog(SESSION_NAMES[kind].tag, this.logId, start, summary));
  }

  /** A re-attach: the log to serve, or the refusal (no session here, or one that ended as an HTTP error). */
  protected attachableLog(): Log | Response {
    // Never create tables for an id that holds no session (unknown, or already deleted): they would never expire.
    if (!SessionEventLog.exists(this.ctx.storage.sql))
      return this.errorResponse(404, SESSION_NAMES[this.#kind].noSuchSession);
    const log = this.eventLog();
    if (log.getMeta("format") === null)
      return this.errorResponse(404, SESSION_NAMES[this.#kind].noSuchSession);
    if (log.end?.result === "http_error")
      return this.errorResponse(410, "this session ended with an HTTP error");
    return log;
  }

  /**
   * Retention is over: the session's events (and the object) go away; its id then answers 404. A generation still
   * running keeps its log for another retention period.
   */
  override async alarm(): Promise<void> {
    if (this.clients.running) return this.armRetention();
    this.#log = null;
    await this.ctx.storage.deleteAll();
  }
}

/** A promise and its resolver (later calls do nothing): the engine's first event, an adopt that has begun. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The format-independent stream repair engine (issue 12): runs attempts against the injected upstream until the
 * generation is complete (or must stop) and yields the client's events, rendered by the format's adapter. Pure: no
 * platform APIs besides `Response`/streams; time comes from the injected clock.
 *
 * Policy (the Gemini engine's, on the adapter's items):
 * - answer text goes to the client as it arrives; on a continuation through the aligner (preamble, overlap and
 *   replay dropped; a rewrite is a failed attempt);
 * - reasoning is shown only until the first cut: a later attempt's reasoning is dropped, and reasoning is never fed
 *   back (the continuation carries the answer text alone);
 * - a tool call, function call or refusal is passed on, and once one started the stream is never continued: a cut
 *   after it ends with the final error event;
 * - a cut with answer text continues it (assistant prefix where the provider has it, else the continue prompt; a
 *   provider that refuses the prefix with a 4xx is asked once more with the prompt); a cut with no answer yet
 *   repeats the request;
 * - usage is summed over the attempts (each attempt's last report is its total) and sent in the final events;
 * - giving up: an HTTP error when the client has nothing yet, else the format's in-band error event (never a clean
 *   end).
 */

import {
  type AttemptStep,
  type AttemptFailure as Failure,
  interruptedStep,
  raceTimeout,
  rateLimitedStep,
  readBounded,
  runAttemptLoop,
  serverRetryStep,
  step,
  streamErrorWaitMs,
  TIMEOUT,
} from "./repair-loop";
import { classifyRepairAttempt, type RepairObservation, type RepairOutcome } from "./repair-outcome";
import { type RepairStreamEnd, readRepairAttempt } from "./repair-reader";
import {
  type ClientEncoder,
  DEFAULT_REPAIR_BOUNDS,
  type RepairAttempt,
  type RepairAttemptRecord,
  type RepairBounds,
  type RepairClock,
  type RepairEvent,
  type RepairFailure,
  type RepairFormat,
  type RepairMode,
  type RepairResult,
  type RepairSummary,
} from "./repair-types";
import { upstreamRetryDelayMs } from "./retry-delay";
import { sumUsageReports } from "./usage-sum";

export type AlignStep = { kind: "pending" } | { kind: "emit"; text: string } | { kind: "rewrite" };

export interface RepairAligner {
  push(text: string): AlignStep;
  finish(): AlignStep;
  readonly removedChars: number;
}

export interface RepairInput<Req> {
  request: Req;
  format: RepairFormat<Req>;
  runAttempt: RepairAttempt<Req>;
  /** The aligner for a continuation's text (`prefix`: the model continued the assistant prefix itself). */
  createAligner(sentAnswer: string, prefix: boolean): RepairAligner;
  clock: RepairClock;
  bounds?: Partial<RepairBounds>;
  /** Aborting it (client gone past its grace period) cancels the current attempt and starts no other. */
  signal?: AbortSignal;
  onAttempt?: (record: RepairAttemptRecord) => void;
}

type Step = AttemptStep<string>;

export class RepairEngine<Req> {
  readonly #in: RepairInput<Req>;
  readonly #bounds: RepairBounds;
  readonly #signal: AbortSignal;
  readonly #startedAt: number;
  #encoder: ClientEncoder | null = null;
  #answer = "";
  #reasoningChars = 0;
  /** Events the client was sent. */
  #emitted = 0;
  /** A tool call (or other opaque output) reached the client: the stream can no longer be continued. */
  #opaqueSent = false;
  readonly #usage: Record<string, unknown>[] = [];
  readonly #attempts: RepairAttemptRecord[] = [];
  #continuations = 0;
  #removedChars = 0;
  #consecutiveServerFailures = 0;
  #nextMode: RepairMode = "initial";
  #lastFailure: Failure | null = null;
  /** The provider refused an assistant-prefix continuation: continue by prompt from now on. */
  #prefixRefused = false;

  constructor(input: RepairInput<Req>) {
    this.#in = input;
    this.#bounds = { ...DEFAULT_REPAIR_BOUNDS, ...input.bounds };
    this.#signal = input.signal ?? new AbortController().signal;
    this.#startedAt = input.clock.now();
  }

  async *run(): AsyncGenerator<RepairEvent, RepairSummary> {
    return yield* runAttemptLoop<string, RepairEvent, RepairSummary>({
      clock: this.#in.clock,
      bounds: this.#bounds,
      signal: this.#signal,
      startedAt: this.#startedAt,
      attempts: this.#attempts,
      nextMode: () => this.#nextMode,
      continuations: () => this.#continuations,
      attempt: (mode, ctl, deadlineAt) => {
        const prefix =
          mode === "continuation" && !this.#prefixRefused && this.#in.format.prefixFor(this.#in.request);
        const body = this.#requestFor(mode, prefix);
        if (mode === "continuation") this.#continuations++;
        return this.#attempt(mode, prefix, body, ctl, deadlineAt);
      },
      recorded: (record) => {
        this.#removedChars += record.removedChars;
        this.#in.onAttempt?.(record);
      },
      aborted: () => this.#aborted(),
      giveUp: (why) => this.#giveUp(why),
      summary: (result, finishReason) => this.#summary(result, finishReason),
    });
  }

  #requestFor(mode: RepairMode, prefix: boolean): Req {
    if (mode !== "continuation") return this.#in.request;
    return this.#in.format.buildContinuation(this.#in.request, this.#answer, {
      prefix,
      producedOutputTokens: this.#producedTokens(),
    });
  }

  #producedTokens(): number {
    const reported = this.#usage.reduce((s, u) => s + this.#in.format.outputTokens(u), 0);
    return reported > 0 ? reported : Math.ceil(this.#answer.length / 4);
  }

  /** After an attempt that did not finish: continue the answer the client has, or repeat the request. */
  #modeAfterFailure(): RepairMode {
    if (this.#answer.length > 0) return "continuation";
    return this.#emitted > 0 ? "restart" : "retry";
  }

  #emit(events: string[]): RepairEvent {
    this.#emitted += events.length;
    return { type: "events", events };
  }

  #encoderFor(meta: Record<string, unknown>): ClientEncoder {
    this.#encoder ??= this.#in.format.newEncoder(meta);
    return this.#encoder;
  }

  async *#attempt(
    mode: RepairMode,
    prefix: boolean,
    body: Req,
    ctl: AbortController,
    deadlineAt: number,
  ): AsyncGenerator<RepairEvent, Step> {
    const clock = this.#in.clock;
    const b = this.#bounds;
    let response: Response;
    try {
      response = await raceTimeout(
        this.#in.runAttempt(body, ctl.signal),
        Math.min(b.firstByteTimeoutMs, deadlineAt - clock.now()),
        clock,
        ctl,
      );
    } catch (err) {
      if (this.#signal.aborted) return step({ outcome: "aborted", reason: "client_gone", done: "aborted" });
      const reason = err === TIMEOUT ? "first_byte_timeout" : "transport_error";
      const status =
        typeof (err as { status?: unknown })?.status === "number" ? (err as { status: number }).status : null;
      const message = err instanceof Error ? err.message : String(err);
      const failure: Failure = {
        status,
        body: gatewayErrorBody(status ?? 502, message),
        contentType: JSON_TYPE,
        reason,
      };
      return this.#serverFailure(failure, "transport_error");
    }
    if (response.status < 200 || response.status >= 300)
      return await this.#httpFailure(response, mode, prefix);
    this.#consecutiveServerFailures = 0;
    const source = response.body ?? new Blob([]).stream();
    const aligner = mode === "continuation" ? this.#in.createAligner(this.#answer, prefix) : null;
    // Reasoning is shown until the client has seen any output of a failed attempt; never from a later attempt.
    const showReasoning = this.#emitted === 0;
    const parser = this.#in.format.newParser();
    const obs: RepairObservation = {
      finish: null,
      streamError: null,
      end: "eof",
      answerChars: 0,
      reasoningChars: 0,
      opaque: 0,
    };
    const usage: Record<string, unknown> = {};
    let sawUsage = false;
    let added = 0;
    let pushed = 0;
    let released = 0;
    let rewrite = false;
    const stream = readRepairAttempt(source, {
      clock,
      firstByteTimeoutMs: b.firstByteTimeoutMs,
      idleTimeoutMs: b.idleTimeoutMs,
      deadlineAt,
      signal: ctl.signal,
    });
    let end: RepairStreamEnd = "eof";
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        end = next.value;
        break;
      }
      const out: string[] = [];
      for (const item of parser.parse(next.value)) {
        const enc = this.#encoderFor(item.kind === "start" ? item.meta : {});
        switch (item.kind) {
          case "start":
            break;
          case "reasoning":
            obs.reasoningChars += item.text.length;
            if (showReasoning) {
              this.#reasoningChars += item.text.length;
              out.push(...enc.reasoning(item));
            }
            break;
          case "text": {
            obs.answerChars += item.text.length;
            if (aligner === null) {
              out.push(...enc.text(item.text));
              this.#answer += item.text;
              added += item.text.length;
              break;
            }
            pushed += codePoints(item.text);
            const s = aligner.push(item.text);
            if (s.kind === "rewrite") {
              rewrite = true;
              break;
            }
            if (s.kind === "emit" && s.text.length > 0) {
              released += codePoints(s.text);
              out.push(...enc.text(s.text));
              this.#answer += s.text;
              added += s.text.length;
            }
            break;
          }
          case "opaque":
            obs.opaque++;
            this.#opaqueSent = true;
            out.push(...enc.opaque(item.value));
            break;
          case "finish":
            obs.finish = {
              reason: item.reason,
              cls: this.#in.format.classifyFinish(item.reason),
              stopSequence: item.stopSequence ?? null,
            };
            break;
          case "usage":
            Object.assign(usage, item.usage);
            sawUsage = true;
            break;
          case "error":
            obs.streamError = { status: item.status, message: item.message };
            break;
          case "end":
            break;
        }
        if (rewrite) break;
      }
      if (out.length > 0) yield this.#emit(out);
      if (rewrite || obs.streamError !== null) {
        await stream.return("aborted");
        break;
      }
    }
    obs.end = end;
    if (sawUsage) this.#usage.push(usage);
    let removed = aligner?.removedChars ?? 0;
    if (this.#signal.aborted) return interruptedStep("aborted", added, removed);
    if (rewrite) {
      this.#nextMode = "continuation";
      return interruptedStep("rewrite", added, removed);
    }
    let outcome: RepairOutcome = classifyRepairAttempt(obs);
    // A continuation that ends cleanly with nothing to add: the answer was already whole.
    if (mode === "continuation" && (outcome.kind === "empty" || outcome.kind === "reasoning_only")) {
      outcome = { kind: "complete", reason: obs.finish?.reason ?? "stop" };
    }
    const base = {
      status: response.status,
      answerChars: added,
      removedChars: removed,
      reason: outcome.reason,
    };
    if (aligner !== null) {
      if (outcome.kind === "complete") {
        const s = aligner.finish();
        if (s.kind === "emit" && s.text.length > 0) {
          yield this.#emit(this.#encoderFor({}).text(s.text));
          this.#answer += s.text;
          added += s.text.length;
          base.answerChars = added;
        }
      } else {
        // Undecided text of a cut continuation may be half a repeat: dropped; the next continuation redoes it.
        removed += Math.max(0, pushed - released - aligner.removedChars);
        base.removedChars = removed;
      }
    }
    switch (outcome.kind) {
      case "complete":
      case "max_tokens":
      case "blocked": {
        const finish = obs.finish?.reason ?? "stop";
        const summed = sumUsageReports(this.#usage);
        yield this.#emit(this.#encoderFor({}).finish(finish, summed, obs.finish?.stopSequence ?? null));
        const done: RepairResult = outcome.kind;
        return step({ ...base, outcome: outcome.kind, done, finishReason: finish });
      }
      case "empty":
      case "reasoning_only":
        this.#nextMode = this.#emitted > 0 ? "restart" : "retry";
        this.#lastFailure = { status: 200, body: "", contentType: "", reason: outcome.reason };
        return step({ ...base, outcome: outcome.kind });
      case "fatal":
        this.#lastFailure = streamFailure(obs.streamError, outcome.reason);
        return step({ ...base, outcome: "fatal", fatal: true });
      case "truncated": {
        this.#lastFailure = obs.streamError
          ? streamFailure(obs.streamError, outcome.reason)
          : { status: 200, body: "", contentType: "", reason: outcome.reason };
        if (this.#opaqueSent) {
          // A tool call (or refusal) started: continuing could duplicate or corrupt it.
          return step({
            ...base,
            outcome: "truncated",
            reason: `${outcome.reason}_after_tool_call`,
            fatal: true,
          });
        }
        this.#nextMode = this.#modeAfterFailure();
        const waitMs = streamErrorWaitMs(obs.streamError?.status ?? 0, b);
        return step({ ...base, outcome: "truncated", waitMs });
      }
    }
  }

  async #httpFailure(response: Response, mode: RepairMode, prefix: boolean): Promise<Step> {
    const text = await readBounded(response);
    const status = response.status;
    const failure: Failure = {
      status,
      body: text,
      contentType: response.headers.get("content-type") ?? JSON_TYPE,
      reason: `upstream_${status}`,
    };
    const retryAfter = response.headers.get("retry-after");
    if (retryAfter !== null) failure.retryAfter = retryAfter;
    this.#lastFailure = failure;
    if (status === 429) {
      const asked = upstreamRetryDelayMs(response.headers, null, this.#in.clock.now());
      this.#nextMode = this.#modeAfterFailure();
      return rateLimitedStep(status, failure.reason, asked, this.#bounds);
    }
    if (status >= 500 || status === 408) return this.#serverFailure(failure, "http_error");
    if (mode === "continuation" && prefix && status < 500) {
      // The provider (or this model) does not take an assistant prefix: the continue prompt instead.
      this.#prefixRefused = true;
      this.#continuations--;
      return step({ outcome: "http_error", reason: "prefix_refused", status });
    }
    // A client error: the first attempt's answer goes back unchanged; a later one cannot be repaired.
    return step({ outcome: "http_error", reason: failure.reason, status, fatal: true });
  }

  #serverFailure(failure: Failure, outcome: "http_error" | "transport_error"): Step {
    this.#lastFailure = failure;
    this.#consecutiveServerFailures++;
    if (this.#opaqueSent)
      return step({
        outcome,
        reason: `${failure.reason}_after_tool_call`,
        status: failure.status,
        fatal: true,
      });
    this.#nextMode = this.#modeAfterFailure();
    return serverRetryStep(outcome, failure, this.#consecutiveServerFailures, this.#bounds);
  }

  /** The client left past its grace period: re-readers of the log must see an explicit failure. */
  async *#aborted(): AsyncGenerator<RepairEvent, RepairSummary> {
    if (this.#emitted > 0) {
      const failure: RepairFailure = {
        reason: "truncated",
        message: "gateway: generation stopped: the client disconnected",
      };
      yield this.#emit(this.#encoderFor({}).error(failure));
    }
    return this.#summary("aborted", null);
  }

  async *#giveUp(why: string): AsyncGenerator<RepairEvent, RepairSummary> {
    const last = this.#lastFailure;
    if (this.#emitted === 0) {
      if (last !== null && last.status !== null && last.status !== 200 && last.body !== "") {
        yield {
          type: "http_error",
          status: last.status,
          body: last.body,
          contentType: last.contentType,
          passthrough: last.reason.startsWith("upstream_"),
          reason: last.reason,
          ...(last.retryAfter ? { retryAfter: last.retryAfter } : {}),
        };
        return this.#summary("http_error", null);
      }
      const status = why === "deadline" || last?.reason.endsWith("timeout") ? 504 : 502;
      const message = `gateway: the upstream did not produce a response after ${this.#attempts.length} attempt(s) (${why}; last: ${last?.reason ?? "none"})`;
      yield {
        type: "http_error",
        status,
        body: gatewayErrorBody(status, message),
        contentType: JSON_TYPE,
        passthrough: false,
        reason: `stream_repair_${why}`,
      };
      return this.#summary("http_error", null);
    }
    const stalled = last?.reason.includes("timeout") === true;
    const failure: RepairFailure = {
      reason: stalled ? "stalled" : last?.reason.startsWith("stream_error") ? "upstream_error" : "truncated",
      message: `gateway: generation incomplete after ${this.#attempts.length} attempt(s) and ${this.#continuations} continuation(s) (${why}; last: ${last?.reason ?? "none"})`,
    };
    yield this.#emit(this.#encoderFor({}).error(failure));
    return this.#summary("failed", null);
  }

  #summary(result: RepairResult, finishReason: string | null): RepairSummary {
    const failed = this.#attempts.filter((a) => !["complete", "max_tokens", "blocked"].includes(a.outcome));
    return {
      result,
      finishReason,
      attempts: [...this.#attempts],
      continuations: this.#continuations,
      removedChars: this.#removedChars,
      recovered: (result === "complete" || result === "max_tokens") && failed.length > 0,
      answerChars: this.#answer.length,
    };
  }
}

const JSON_TYPE = "application/json; charset=UTF-8";

const STATUS_NAMES: Record<number, string> = {
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The gateway's error JSON (DESIGN §8). */
function gatewayErrorBody(status: number, message: string): string {
  return JSON.stringify({ error: { code: status, status: STATUS_NAMES[status] ?? "UNAVAILABLE", message } });
}

function streamFailure(error: { status: number; message: string } | null, reason: string): Failure {
  const status = error?.status ?? 502;
  return { status, body: gatewayErrorBody(status, error?.message ?? reason), contentType: JSON_TYPE, reason };
}

const codePoints = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

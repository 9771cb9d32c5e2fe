import {
  interruptedStep,
  raceTimeout,
  rateLimitedStep,
  readBounded,
  runAttemptLoop,
  serverRetryStep,
  step,
  streamErrorWaitMs,
  TIMEOUT,
} from "../stream/repair-loop";
import { upstreamRetryDelayMs } from "../stream/retry-delay";
import { googleStatusFor } from "../transport/errors";
import { readAttemptStream } from "./engine-attempt";
import { AttemptCollector, chunkFrom, finalChunk, textLength } from "./engine-collect";
import { type AttemptStep, type Failure, failureFromStreamError, safeJson } from "./engine-support";
import {
  type AttemptMode,
  type AttemptRecord,
  DEFAULT_ENGINE_BOUNDS,
  type EngineBounds,
  type EngineEvent,
  type EngineInput,
  type EngineResult,
  type EngineSummary,
} from "./engine-types";
import { classifyAttempt, type Outcome, type StreamEnd } from "./outcome";
import type {
  GenerateContentRequest,
  GenerateContentResponse,
  GoogleErrorBody,
  UsageMetadata,
} from "./types";
import { sumUsage } from "./usage";

/**
 * The continuation engine: runs attempts against the injected upstream until the generation is complete (or must
 * stop), and yields the client's events. Pure: no platform APIs besides `Response`/streams; time comes from the
 * injected clock. See `engine-types.ts` for the contract, `README` for the policy.
 */
export class ContinuationEngine<R = GenerateContentRequest> {
  readonly #in: EngineInput<R>;
  readonly #bounds: EngineBounds;
  readonly #signal: AbortSignal;
  readonly #startedAt: number;
  #answer = "";
  #chunks = 0;
  #pinned: { responseId?: string; modelVersion?: string } | null = null;
  readonly #usage: UsageMetadata[] = [];
  readonly #attempts: AttemptRecord[] = [];
  #continuations = 0;
  #removedChars = 0;
  #consecutiveServerFailures = 0;
  #nextMode: AttemptMode = "initial";
  #lastFailure: Failure | null = null;

  constructor(input: EngineInput<R>) {
    this.#in = input;
    this.#bounds = { ...DEFAULT_ENGINE_BOUNDS, ...input.bounds };
    this.#signal = input.signal ?? new AbortController().signal;
    this.#startedAt = input.clock.now();
  }

  /** Runs the generation; the generator's return value is the session summary. */
  async *run(): AsyncGenerator<EngineEvent, EngineSummary> {
    return yield* runAttemptLoop<AttemptRecord["outcome"], EngineEvent, EngineSummary>({
      clock: this.#in.clock,
      bounds: this.#bounds,
      signal: this.#signal,
      startedAt: this.#startedAt,
      attempts: this.#attempts,
      nextMode: () => this.#nextMode,
      continuations: () => this.#continuations,
      attempt: (mode, ctl, deadlineAt) => {
        const body = this.#requestFor(mode);
        if (mode === "continuation") this.#continuations++;
        return this.#attempt(mode, body, ctl, deadlineAt);
      },
      recorded: (record) => {
        this.#removedChars += record.removedChars;
        this.#in.onAttempt?.(record);
      },
      // No `aborted` hook: the session object ends a stream whose client left; the engine only stops.
      giveUp: (why) => this.#giveUp(why),
      summary: (result, finishReason) => this.#summary(result, finishReason),
    });
  }

  #requestFor(mode: AttemptMode): R {
    const opts = { prompts: this.#in.prompts, producedOutputTokens: this.#producedTokens() };
    if (mode === "continuation") return this.#in.kit.buildContinuation(this.#in.request, this.#answer, opts);
    if (mode === "restart") return this.#in.kit.buildRestart(this.#in.request, opts);
    return this.#in.request;
  }

  #producedTokens(): number {
    const reported = this.#usage.reduce((s, u) => s + (u.candidatesTokenCount ?? 0), 0);
    return reported > 0 ? reported : Math.ceil(this.#answer.length / 4);
  }

  /** After an attempt that produced nothing usable, the next one repeats (or continues) what we have. */
  #modeAfterFailure(): AttemptMode {
    if (this.#answer.length > 0) return "continuation";
    // Only thoughts reached the client (or the last attempt was a restart): restart, never continue from thoughts.
    return this.#chunks > 0 || this.#nextMode === "restart" ? "restart" : "retry";
  }

  async *#attempt(
    mode: AttemptMode,
    body: R,
    ctl: AbortController,
    deadlineAt: number,
  ): AsyncGenerator<EngineEvent, AttemptStep> {
    const clock = this.#in.clock;
    const slack = this.#attempts.length === 0 ? (this.#in.firstAttemptSlackMs ?? 0) : 0;
    const b =
      slack > 0
        ? {
            ...this.#bounds,
            firstByteTimeoutMs: this.#bounds.firstByteTimeoutMs + slack,
            idleTimeoutMs: this.#bounds.idleTimeoutMs + slack,
          }
        : this.#bounds;
    let response: Response;
    try {
      const firstByteBudget = Math.min(b.firstByteTimeoutMs, deadlineAt - clock.now());
      response = await raceTimeout(this.#in.runAttempt(body, ctl.signal), firstByteBudget, clock, ctl);
    } catch (err) {
      if (this.#signal.aborted) return step({ outcome: "aborted", reason: "client_gone", done: "aborted" });
      const reason = err === TIMEOUT ? "first_byte_timeout" : "transport_error";
      return this.#serverFailure({ status: null, body: "", contentType: "", reason }, "transport_error");
    }
    if (response.status !== 200) return await this.#httpFailure(response);
    this.#consecutiveServerFailures = 0;
    if (response.body === null) {
      return this.#serverFailure(
        { status: 200, body: "", contentType: "", reason: "empty_body" },
        "truncated",
      );
    }
    const aligner = mode === "continuation" ? this.#in.kit.createAligner(this.#answer) : null;
    const col = new AttemptCollector(aligner, mode !== "continuation");
    const obs = col.obs;
    let added = 0;
    const stream = readAttemptStream(response.body, {
      clock,
      firstByteTimeoutMs: b.firstByteTimeoutMs,
      idleTimeoutMs: b.idleTimeoutMs,
      deadlineAt,
      signal: ctl.signal,
    });
    let end: StreamEnd = "eof";
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        end = next.value;
        break;
      }
      if (next.value.type === "error") {
        obs.streamError = next.value.error;
        continue;
      }
      this.#pin(next.value.chunk);
      const { cand, parts } = col.take(next.value.chunk);
      if (col.rewrite) {
        await stream.return("aborted");
        break;
      }
      if (parts.length > 0) {
        added += textLength(parts);
        yield this.#emit(chunkFrom(cand, parts));
      }
    }
    col.finish();
    obs.end = end;
    if (col.usage) this.#usage.push(col.usage);
    const removed = col.removedChars;
    if (this.#signal.aborted) return interruptedStep("aborted", added, removed);
    if (col.rewrite) {
      this.#nextMode = "continuation";
      return interruptedStep("rewrite", added, removed);
    }
    let outcome: Outcome = classifyAttempt(obs);
    // A continuation that ends cleanly with nothing to add means the answer was already whole (the cut fell just
    // before the final chunk): accept it rather than retrying until the bounds are exhausted.
    if (mode === "continuation" && (outcome.kind === "empty" || outcome.kind === "thought_only")) {
      outcome = { kind: "complete", reason: "STOP" };
    }
    const base = { status: 200, answerChars: added, removedChars: removed, reason: outcome.reason };
    switch (outcome.kind) {
      case "complete":
      case "max_tokens":
      case "blocked": {
        added += textLength(col.finalParts);
        yield this.#emit(
          finalChunk(col.terminal, [...col.finalParts, ...col.heldCalls], sumUsage(this.#usage)),
        );
        const done: EngineResult = outcome.kind === "complete" ? "complete" : outcome.kind;
        const finishReason = obs.blockReason ?? obs.finishReason;
        return step({ ...base, outcome: outcome.kind, answerChars: added, done, finishReason });
      }
      case "empty":
      case "thought_only":
        this.#nextMode = "restart";
        this.#lastFailure = { status: 200, body: "", contentType: "", reason: outcome.reason };
        return step({ ...base, outcome: outcome.kind });
      case "fatal":
        this.#lastFailure = failureFromStreamError(obs.streamError, outcome.reason);
        return step({ ...base, outcome: "fatal", fatal: true });
      case "truncated": {
        this.#lastFailure = obs.streamError
          ? failureFromStreamError(obs.streamError, outcome.reason)
          : { status: 200, body: "", contentType: "", reason: outcome.reason };
        this.#nextMode = this.#modeAfterFailure();
        const waitMs = streamErrorWaitMs(obs.streamError?.code ?? 0, b);
        return step({ ...base, outcome: "truncated", waitMs });
      }
    }
  }

  async #httpFailure(response: Response): Promise<AttemptStep> {
    const text = await readBounded(response);
    const status = response.status;
    const failure: Failure = {
      status,
      body: text,
      contentType: response.headers.get("content-type") ?? "application/json; charset=UTF-8",
      reason: `upstream_${status}`,
    };
    const retryAfter = response.headers.get("retry-after");
    if (retryAfter !== null) failure.retryAfter = retryAfter;
    if (status === 429) {
      this.#lastFailure = failure;
      const asked = upstreamRetryDelayMs(response.headers, safeJson(text), this.#in.clock.now());
      this.#nextMode = this.#modeAfterFailure();
      return rateLimitedStep(status, failure.reason, asked, this.#bounds);
    }
    if (status >= 500 || status === 408) return this.#serverFailure(failure, "http_error");
    // A client error: the first attempt's answer goes back unchanged; a later one cannot be repaired.
    this.#lastFailure = failure;
    return step({ outcome: "http_error", reason: failure.reason, status, fatal: true });
  }

  #serverFailure(failure: Failure, outcome: "http_error" | "transport_error" | "truncated"): AttemptStep {
    this.#lastFailure = failure;
    this.#consecutiveServerFailures++;
    this.#nextMode = this.#modeAfterFailure();
    return serverRetryStep(outcome, failure, this.#consecutiveServerFailures, this.#bounds);
  }

  /** Ends a generation that cannot complete: an HTTP error if the client has nothing yet, else an honest final event. */
  async *#giveUp(why: string): AsyncGenerator<EngineEvent, EngineSummary> {
    const last = this.#lastFailure;
    if (this.#chunks === 0) {
      if (last !== null && last.status !== null && last.status !== 200) {
        yield {
          type: "http_error",
          status: last.status,
          body: last.body,
          contentType: last.contentType,
          passthrough: true,
          reason: last.reason,
          ...(last.retryAfter ? { retryAfter: last.retryAfter } : {}),
        };
        return this.#summary("http_error", null);
      }
      const status = why === "deadline" || last?.reason.endsWith("timeout") ? 504 : 502;
      const error: GoogleErrorBody = {
        code: status,
        status: googleStatusFor(status),
        message: `gateway: the upstream did not produce a response after ${this.#attempts.length} attempt(s) (${why}; last: ${last?.reason ?? "none"})`,
      };
      yield {
        type: "http_error",
        status,
        body: JSON.stringify({ error }),
        contentType: "application/json; charset=UTF-8",
        passthrough: false,
        reason: `gemini_${why}`,
      };
      return this.#summary("http_error", null);
    }
    const message = `gateway: generation incomplete after ${this.#attempts.length} attempt(s) and ${this.#continuations} continuation(s) (${why}; last: ${last?.reason ?? "none"})`;
    const final: GenerateContentResponse = {
      candidates: [
        {
          content: { role: "model", parts: [{ text: "" }] },
          finishReason: "OTHER",
          finishMessage: message,
          index: 0,
        },
      ],
    };
    const usage = sumUsage(this.#usage);
    if (usage) final.usageMetadata = usage;
    yield this.#emit(final);
    return this.#summary("failed", "OTHER");
  }

  #pin(chunk: GenerateContentResponse): void {
    if (this.#pinned !== null) return;
    this.#pinned = {};
    if (typeof chunk.responseId === "string") this.#pinned.responseId = chunk.responseId;
    if (typeof chunk.modelVersion === "string") this.#pinned.modelVersion = chunk.modelVersion;
  }

  /** Stamps the pinned ids, counts the chunk and records the answer text the client now has. */
  #emit(chunk: GenerateContentResponse): EngineEvent {
    for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
      if (part.thought !== true && typeof part.text === "string") this.#answer += part.text;
    }
    if (this.#pinned?.responseId !== undefined) chunk.responseId = this.#pinned.responseId;
    if (this.#pinned?.modelVersion !== undefined) chunk.modelVersion = this.#pinned.modelVersion;
    this.#chunks++;
    return { type: "chunk", chunk };
  }

  #summary(result: EngineResult, finishReason: string | null): EngineSummary {
    const failedAttempts = this.#attempts.filter(
      (a) => !["complete", "max_tokens", "blocked"].includes(a.outcome),
    );
    return {
      result,
      finishReason,
      attempts: [...this.#attempts],
      continuations: this.#continuations,
      removedChars: this.#removedChars,
      recovered: (result === "complete" || result === "max_tokens") && failedAttempts.length > 0,
      answerChars: this.#answer.length,
      chunks: this.#chunks,
    };
  }
}

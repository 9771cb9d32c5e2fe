/**
 * The one entry point for "send this request to endpoint X" (issue 4), used by the Worker's proxy
 * path and by the Gemini session object. It picks a target from the isolate's health view, sends
 * through `egress()`, reports the outcome, and fails over to another target while no response byte
 * has reached the client:
 *
 * - connect error, timeout, reset, any 5xx, 429 → the next target (at most `maxAttempts` targets,
 *   no new attempt after `failoverDeadlineMs`), the body replayed from the buffer of
 *   `replay-body.ts` (bodies over `replayBodyLimitBytes` get a single attempt, unless the caller
 *   already holds them: a `HeldBody` is re-sent as it is);
 * - other statuses (2xx, 3xx, 4xx except 429) are returned unchanged, unless the caller's
 *   `inspect` (the stream integrity guard) turns the answer down before any of it reached the client:
 *   then it is a failure like a 5xx, and the inspector reports the outcome when the stream ends;
 * - when every attempt failed: the upstream's own answer when there was a single attempt, the final
 *   429 when the last attempt was rate limited (so its `Retry-After` reaches the client), otherwise
 *   `AllTargetsFailedError` naming each attempt's cause.
 *
 * The response carries `x-proxy-attempts`.
 */

import { affinityOf } from "../../keys/affinity";
import { egress } from "../../transport/egress";
import {
  type EndpointConfig,
  joinTargetUrl,
  type TargetConfig,
  type TransportKind,
} from "../../transport/endpoint";
import {
  AllTargetsFailedError,
  ClientClosedError,
  UpstreamConnectError,
  UpstreamError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from "../../transport/errors";
import type { RequestBody } from "../../transport/held-body";
import { withResponseHeaders } from "../../transport/response-headers";
import type { EgressTimeouts } from "../../transport/timeouts";
import { type HealthPolicy, type OutcomeKind, policyFor, retryAfterMs } from "../health/health-policy";
import { type HealthEnv, type HealthViews, isolateHealthViews } from "../health/health-snapshot";
import { type Selection, selectTarget, weightedPick } from "../health/target-selection";
import { affinityTarget, KeyAttempts, upstreamHeaders } from "./key-dispatch";
import { prepareReplayableBody } from "./replay-body";

export const ATTEMPTS_HEADER = "x-proxy-attempts";

export interface DispatchRequest {
  method: string;
  /** Path remainder after the endpoint segment, forwarded byte-exact (`""` or starts with `/`). */
  rest: string;
  /** Query string including `?`, or `""`. */
  search: string;
  headers: Headers;
  body: RequestBody;
}

export interface EgressCall {
  method: string;
  url: string;
  headers: Headers;
  body: RequestBody;
  signal?: AbortSignal;
}

export interface EgressOutcome {
  response: Response;
  transport: TransportKind;
  fallbackReason: string | null;
}

export type EgressFn = (
  req: EgressCall,
  options: { transport: TransportKind; aggressiveFallback: boolean; timeouts?: Partial<EgressTimeouts> },
) => Promise<EgressOutcome>;

export interface DispatchContext {
  env: HealthEnv;
  waitUntil(p: Promise<unknown>): void;
  aggressiveFallback: boolean;
  signal?: AbortSignal;
  now?: () => number;
  random?: () => number;
  /** Per-attempt egress timeouts (defaults: the transport's). */
  timeouts?: Partial<EgressTimeouts>;
  /** The transport call; tests may substitute it. Defaults to `egress()` of `src/transport/egress.ts`. */
  egress?: EgressFn;
  /**
   * Health views to select from and report to (default: the isolate's `isolateHealthViews`). A Durable
   * Object may pass views it owns, so that every health report is its own I/O and it can wait for them.
   */
  views?: HealthViews;
  /** Told the fingerprint of each pool key an attempt uses (for the request's log line). */
  onKey?: (fingerprint: string) => void;
  /**
   * Looks at every answer that is not a failure (not 5xx/429) before it is delivered: the stream
   * integrity guard (`stream-guard-inspector.ts`) holds a stream's start there and may fail over.
   */
  inspect?: ResponseInspector;
}

/** What an inspector is told about the attempt whose answer it looks at. */
export interface InspectedAttempt {
  target: TargetConfig;
  /** The request body as buffered for failover; `undefined` when it streamed through unbuffered. */
  requestBody: Uint8Array | null | undefined;
  /** Whether another target may still be tried if the inspector turns this answer down. */
  mayFailOver: boolean;
  /** Reports this attempt's outcome (head latency and status are the attempt's), at any later time. */
  report(kind: OutcomeKind): void;
}

/**
 * - `pass`: not the inspector's business; dispatch reports and delivers the answer as usual;
 * - `deliver`: deliver this response instead; the inspector reports the outcome itself (`report`);
 * - `fail_over`: the answer is a failure after all; the inspector reported it; try the next target.
 */
export type InspectVerdict =
  | { kind: "pass" }
  | { kind: "deliver"; response: Response }
  | { kind: "fail_over"; cause: string };

export type ResponseInspector = (response: Response, attempt: InspectedAttempt) => Promise<InspectVerdict>;

export interface DispatchResult {
  response: Response;
  target: TargetConfig;
  attempts: number;
  transport: TransportKind;
  fallbackReason: string | null;
}

function outcomeKindOf(error: UpstreamError): OutcomeKind {
  if (error instanceof UpstreamConnectError) return "connect_error";
  if (error instanceof UpstreamTimeoutError) return "timeout";
  if (error instanceof UpstreamResetError) return "reset";
  if (error instanceof UpstreamProtocolError) return "protocol_error";
  return "upstream_error";
}

/** Names a target without its path (a base path may carry an account or key segment). */
function targetLabel(target: TargetConfig): string {
  try {
    return new URL(target.url).host;
  } catch {
    return "target";
  }
}

interface FailedAttempt {
  target: TargetConfig;
  status: number | null;
  cause: string;
}

function withAttempts(response: Response, attempts: number): Response {
  return withResponseHeaders(response, (headers) => headers.set(ATTEMPTS_HEADER, String(attempts)));
}

function contentLengthOf(headers: Headers): number | null {
  const raw = headers.get("content-length");
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

interface ViewContext {
  env: HealthEnv;
  waitUntil(p: Promise<unknown>): void;
  now: () => number;
  random: () => number;
  views: HealthViews;
  /** `x-proxy-affinity` of the request: pins it to a healthy target (issue 14). */
  affinity?: string | null;
}

async function choose(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  ctx: ViewContext,
  tried: ReadonlySet<string>,
): Promise<Selection | null> {
  const denied = new Set<string>();
  for (let guard = 0; guard <= endpoint.targets.length; guard += 1) {
    const records = ctx.views.view(endpoint, policy, ctx);
    const exclude = new Set([...tried, ...denied]);
    if (ctx.affinity) {
      const pinned = affinityTarget(endpoint.targets, records, ctx.now(), exclude, ctx.affinity);
      if (pinned) return { target: pinned, mode: "normal" };
    }
    const selection = selectTarget(endpoint.targets, records, {
      now: ctx.now(),
      policy,
      random: ctx.random,
      exclude,
    });
    if (selection === null) break;
    if (selection.mode !== "probe") return selection;
    if (await ctx.views.requestProbe(endpoint, policy, selection.target.url, ctx)) return selection;
    denied.add(selection.target.url);
  }
  // Every untried target has a probe out elsewhere: use them anyway rather than refuse (panic).
  const left = endpoint.targets.filter((t) => denied.has(t.url) && !tried.has(t.url));
  const target = weightedPick(
    left.map((t) => ({ item: t, weight: t.weight })),
    ctx.random,
  );
  return target ? { target, mode: "panic" } : null;
}

export async function dispatch(
  endpoint: EndpointConfig,
  req: DispatchRequest,
  ctx: DispatchContext,
): Promise<DispatchResult> {
  const now = ctx.now ?? Date.now;
  const random = ctx.random ?? Math.random;
  const send: EgressFn = ctx.egress ?? egress;
  const policy = policyFor(endpoint);
  const views = ctx.views ?? isolateHealthViews;
  const viewCtx: ViewContext = {
    env: ctx.env,
    waitUntil: (p: Promise<unknown>) => ctx.waitUntil(p),
    now,
    random,
    views,
  };
  if (endpoint.targets.length === 0) {
    throw new AllTargetsFailedError(`endpoint ${endpoint.name} has no targets configured`, 0, 503);
  }

  // A key pool (issue 14): each attempt takes a key; a key's own failure moves on to another key.
  const keys = await KeyAttempts.open(endpoint, ctx.env, req.headers);
  viewCtx.affinity = affinityOf(req.headers);
  const startedAt = now();
  const body = await prepareReplayableBody(
    req.body,
    contentLengthOf(req.headers),
    policy.replayBodyLimitBytes,
  );
  const maxAttempts = body.replayable ? Math.min(policy.maxAttempts, endpoint.targets.length) : 1;
  const tried = new Set<string>();
  const failures: FailedAttempt[] = [];
  let lastError: UpstreamError | null = null;
  let deadlineHit = false;

  while (tried.size < maxAttempts) {
    if (tried.size > 0 && now() - startedAt >= policy.failoverDeadlineMs) {
      deadlineHit = true;
      break;
    }
    // A client that left gets no further attempts: each one could be billed by the provider.
    if ((tried.size > 0 || (keys?.keyFailures ?? 0) > 0) && ctx.signal?.aborted) {
      throw new ClientClosedError(`the client left after ${tried.size} attempt(s); no further target tried`);
    }
    const selection = await choose(endpoint, policy, viewCtx, tried);
    if (selection === null) break;
    const { target } = selection;
    const key = keys ? keys.choose(views, now(), random) : null;
    if (key) ctx.onKey?.(key.fingerprint);
    const sent =
      keys && key
        ? keys.apply(req.headers, req.search, key)
        : { headers: upstreamHeaders(req.headers), search: req.search };
    tried.add(target.url);
    const attempt = tried.size;
    const isLast = attempt >= maxAttempts;
    const attemptStart = now();
    let result: EgressOutcome;
    try {
      result = await send(
        {
          method: req.method,
          url: joinTargetUrl(target.url, req.rest, sent.search),
          headers: sent.headers,
          body: body.next(),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        },
        {
          transport: endpoint.transport,
          aggressiveFallback: ctx.aggressiveFallback,
          ...(ctx.timeouts ? { timeouts: ctx.timeouts } : {}),
        },
      );
    } catch (error) {
      // The client went away, or the failure is not the upstream's (e.g. a bad request head): no
      // health evidence, no failover.
      if (ctx.signal?.aborted || !(error instanceof UpstreamError)) throw error;
      const at = now();
      views.report(
        endpoint,
        policy,
        { url: target.url, at, kind: outcomeKindOf(error), status: null, latencyMs: null },
        viewCtx,
      );
      lastError = error;
      failures.push({ target, status: null, cause: error.message });
      continue;
    }

    let { response } = result;
    const at = now();
    /** The attempt's answer goes to the client. */
    const delivered = (answer: Response): DispatchResult => ({
      response: withAttempts(answer, attempt),
      target,
      attempts: attempt,
      transport: result.transport,
      fallbackReason: result.fallbackReason,
    });
    const latencyMs = Math.max(0, at - attemptStart);
    if (keys && key) {
      const judged = await keys.judge(response, key, at, views, policy, viewCtx);
      response = judged.response;
      if (judged.keyFailure) {
        // The key's fault, not the target's: no target outcome; another key (the same target may be
        // chosen again) while the body can be replayed, else the provider's answer as it is.
        if (body.replayable && now() - startedAt < policy.failoverDeadlineMs) {
          tried.delete(target.url);
          response.body?.cancel().catch(() => {});
          continue;
        }
        return delivered(response);
      }
    }
    const status = response.status;
    const failed = status === 429 || status >= 500;
    const canRetry =
      !isLast && now() - startedAt < policy.failoverDeadlineMs && tried.size < endpoint.targets.length;
    if (!failed && ctx.inspect) {
      const report = (kind: OutcomeKind) =>
        views.report(endpoint, policy, { url: target.url, at: now(), kind, status, latencyMs }, viewCtx);
      const verdict = await ctx.inspect(response, {
        target,
        requestBody: body.held,
        mayFailOver: canRetry,
        report,
      });
      if (verdict.kind === "fail_over") {
        failures.push({ target, status, cause: verdict.cause });
        continue;
      }
      if (verdict.kind === "deliver") {
        return delivered(verdict.response);
      }
    }
    if (status === 429) {
      const cooldown = retryAfterMs(response.headers.get("retry-after"), at, policy);
      views.report(
        endpoint,
        policy,
        { url: target.url, at, kind: "rate_limited", status, latencyMs, retryAfterMs: cooldown },
        viewCtx,
      );
    } else {
      const kind: OutcomeKind = status >= 500 ? "http_5xx" : "success";
      views.report(endpoint, policy, { url: target.url, at, kind, status, latencyMs }, viewCtx);
    }
    // Out of attempts: a lone attempt's answer and a final 429 (its Retry-After tells the client when
    // to come back) reach the client as the upstream sent them.
    if (!failed || (!canRetry && (maxAttempts === 1 || status === 429))) {
      return delivered(response);
    }
    failures.push({ target, status, cause: `HTTP ${status}` });
    response.body?.cancel().catch(() => {});
  }

  if (maxAttempts === 1 && failures.length === 1 && lastError !== null) throw lastError;
  throw allFailed(endpoint, failures, deadlineHit, lastError);
}

function allFailed(
  endpoint: EndpointConfig,
  failures: readonly FailedAttempt[],
  deadlineHit: boolean,
  lastError: UpstreamError | null,
): AllTargetsFailedError {
  const causes = failures.map((f) => `${targetLabel(f.target)}: ${f.cause}`).join("; ");
  const suffix = deadlineHit ? " (failover deadline reached)" : "";
  const message =
    failures.length === 0
      ? `no target of endpoint ${endpoint.name} could be tried`
      : `all ${failures.length} attempted target(s) of endpoint ${endpoint.name} failed${suffix}: ${causes}`;
  const unavailable = failures.length > 0 && failures.every((f) => f.status === 503 || f.status === 429);
  const lastStatus = failures.at(-1)?.status ?? null;
  const error = new AllTargetsFailedError(message, failures.length, unavailable ? 503 : 502, lastStatus);
  if (lastError) (error as { cause?: unknown }).cause = lastError;
  return error;
}

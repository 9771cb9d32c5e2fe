import type { EncodedRequest } from "../../gemini/continuation-bytes";
import type { RunAttempt } from "../../gemini/engine-types";
import { attemptHeaders } from "../../stream/attempt-headers";
import { HeldBody } from "../../transport/held-body";
import { type DispatchContext, dispatch } from "../failover/failover";
import { coolingAsAnswer } from "../failover/key-dispatch";
import type { HealthViews } from "../health/health-snapshot";
import type { SessionStart } from "./gemini-session";

export interface GeminiUpstreamOptions {
  /**
   * What the session's start names: the endpoint, the upstream SSE route (`routes.ts` `upstreamStreamTarget`), the
   * client's request headers (API key included; the egress header policy strips identifying ones), the fallback rule.
   */
  start: Pick<SessionStart, "endpoint" | "upstream" | "headers" | "aggressiveFallback">;
  /** The session object's bindings: a `TargetHealth` stub is made from them per health report. */
  env: DispatchContext["env"];
  /** The session object's `ctx.waitUntil`: covers the background health reports of its attempts. */
  waitUntil(p: Promise<unknown>): void;
  /** Health views the session owns (see `health-snapshot.ts`); default: the isolate's. */
  views?: HealthViews;
  random?: () => number;
  now?: () => number;
  /** The transport call (tests); default `egress()`. */
  egress?: DispatchContext["egress"];
}

/**
 * The one function through which a Gemini session reaches its upstream: `failover.ts` `dispatch()` per engine
 * attempt, so Gemini endpoints get what every endpoint gets: health-weighted selection that avoids ejected and
 * rate-limited targets, failover to another target before any byte (connect error, timeout, 5xx, 429), outcome
 * reports (a 429 marks its target `rate_limited`), and the transport layer's privacy and fallback.
 *
 * Every health report and probe claim is I/O started by the session object itself (its `env`, its `waitUntil`),
 * which is what makes `dispatch()` safe to call from a Durable Object sharing its isolate with others.
 *
 * When every target failed, `dispatch()` returns the last upstream answer (a lone attempt, or a final 429) or throws
 * (`AllTargetsFailedError`, a transport error): the engine treats both as a failed attempt and applies its own
 * backoff and bounds.
 */
export function geminiUpstream(opts: GeminiUpstreamOptions): RunAttempt<EncodedRequest> {
  return async (body, signal) => {
    const { start } = opts;
    const headers = attemptHeaders(start.headers, body.byteLength);
    const result = await dispatch(
      start.endpoint,
      {
        method: "POST",
        rest: start.upstream.rest,
        search: start.upstream.search,
        headers,
        // The pieces as they are (views into the session's one copy of the request): no attempt joins,
        // re-serializes or copies the request, and a fallback or failover re-sends the same pieces.
        body: new HeldBody(body.pieces),
      },
      {
        env: opts.env,
        waitUntil: opts.waitUntil,
        aggressiveFallback: start.aggressiveFallback,
        signal,
        ...(opts.views ? { views: opts.views } : {}),
        ...(opts.random ? { random: opts.random } : {}),
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.egress ? { egress: opts.egress } : {}),
      },
    ).catch(coolingAsAnswer);
    return result.response;
  };
}

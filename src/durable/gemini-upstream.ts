import type { RunAttempt } from "../gemini/engine-types";
import type { EndpointConfig } from "../transport/endpoint";
import type { HealthEnv } from "./health-snapshot";
import { dispatch, type EgressFn } from "./upstream-pool";

export interface GeminiUpstreamOptions {
  env: HealthEnv;
  endpoint: EndpointConfig;
  /** Upstream path and query of the SSE stream route (`routes.ts` `upstreamStreamTarget`). */
  rest: string;
  search: string;
  /** The client's request headers (API key included); the egress header policy strips identifying ones. */
  headers: [string, string][];
  aggressiveFallback: boolean;
  waitUntil(p: Promise<unknown>): void;
  /** Substitute transport (tests). */
  egress?: EgressFn;
}

/**
 * Client headers that describe the client's own body or encoding: the engine sends a new JSON body, and it must
 * read the upstream stream uncompressed (the socket transport does not decode `content-encoding`).
 */
const REPLACED_HEADERS = [
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "accept-encoding",
  "accept",
];

const encoder = new TextEncoder();

/**
 * The one function through which a Gemini session reaches its upstream: target selection, health reporting and
 * failover of `upstream-pool.ts` `dispatch()`, privacy of the transport layer. The engine adds its own retries,
 * continuations and timeouts on top.
 */
export function geminiUpstream(opts: GeminiUpstreamOptions): RunAttempt {
  return async (body, signal) => {
    const headers = new Headers(opts.headers);
    for (const name of REPLACED_HEADERS) headers.delete(name);
    headers.set("content-type", "application/json");
    headers.set("accept", "text/event-stream");
    headers.set("accept-encoding", "identity");
    const result = await dispatch(
      opts.endpoint,
      {
        method: "POST",
        rest: opts.rest,
        search: opts.search,
        headers,
        body: encoder.encode(JSON.stringify(body)),
      },
      {
        env: opts.env,
        waitUntil: opts.waitUntil,
        aggressiveFallback: opts.aggressiveFallback,
        signal,
        ...(opts.egress ? { egress: opts.egress } : {}),
      },
    );
    return result.response;
  };
}

import type { RunAttempt } from "../gemini/engine-types";
import { egress } from "../transport/egress";
import { type EndpointConfig, joinTargetUrl } from "../transport/endpoint";
import { pickTarget } from "./gemini-target";

export interface GeminiUpstreamOptions {
  endpoint: EndpointConfig;
  /** Upstream path and query of the SSE stream route (`routes.ts` `upstreamStreamTarget`). */
  rest: string;
  search: string;
  /** The client's request headers (API key included); the egress header policy strips identifying ones. */
  headers: [string, string][];
  aggressiveFallback: boolean;
  random?: () => number;
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
 * The one function through which a Gemini session reaches its upstream: the transport layer's `egress()` (socket
 * first, header policy, fetch fallback) to a target picked per attempt, weighted, avoiding the target whose last
 * attempt failed (a 429/5xx or a connection failure moves the next attempt elsewhere when there is an elsewhere).
 *
 * Why not `upstream-pool.ts` `dispatch()`: its per-isolate health view chains promises and timers across callers,
 * and workerd forbids one Durable Object from awaiting I/O objects created by another in the same isolate
 * ("Cannot perform I/O on behalf of a different Durable Object"). Once that view is safe to use from Durable
 * Objects, this function is the single place to switch to `dispatch()` (and gain health-weighted selection).
 */
export function geminiUpstream(opts: GeminiUpstreamOptions): RunAttempt {
  const random = opts.random ?? Math.random;
  let lastFailed: string | null = null;
  return async (body, signal) => {
    const target = pickTarget(opts.endpoint.targets, lastFailed, random);
    const headers = new Headers(opts.headers);
    for (const name of REPLACED_HEADERS) headers.delete(name);
    headers.set("content-type", "application/json");
    headers.set("accept", "text/event-stream");
    headers.set("accept-encoding", "identity");
    try {
      const { response } = await egress(
        {
          method: "POST",
          url: joinTargetUrl(target.url, opts.rest, opts.search),
          headers,
          body: encoder.encode(JSON.stringify(body)),
          signal,
        },
        { transport: opts.endpoint.transport, aggressiveFallback: opts.aggressiveFallback },
      );
      lastFailed = response.status === 429 || response.status >= 500 ? target.url : null;
      return response;
    } catch (error) {
      lastFailed = target.url;
      throw error;
    }
  };
}

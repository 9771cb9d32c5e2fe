/**
 * Egress through the platform's `fetch()`: the fallback transport, and the only one that reaches hosts
 * behind Cloudflare (sockets from a Worker cannot connect to Cloudflare IPs). workerd stamps `cf-worker`
 * on every outbound fetch; nothing a Worker does removes it, which is why `socket` is the private path.
 */

import { GatewayError, UpstreamError, UpstreamResetError, UpstreamTimeoutError } from "./errors";
import { sanitizeResponseHeaders } from "./header-policy";
import { HeldBody, type RequestBody } from "./held-body";
import { watchIdle } from "./idle-stream";
import { SMALL_BODY_BYTES } from "./small-body";
import { Watchdog } from "./watchdog";

export interface EgressRequest {
  method: string;
  /** Absolute upstream URL. */
  url: string;
  /** Request headers; `egress()` applies the header policy before either transport sees them. */
  headers: Headers;
  /** A `HeldBody` can be sent again (fallback, failover) without a copy; a stream only once. */
  body: RequestBody;
  signal?: AbortSignal;
}

export interface FetchTimeouts {
  /** From sending the request to the response head. */
  firstByteTimeoutMs: number;
  /** Longest silence between two body reads. */
  idleTimeoutMs: number;
}

/** `fetch()` rejected without a response: the connection failed or broke before the head arrived. */
export class UpstreamFetchError extends UpstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    // fetch() does not tell whether request bytes were written, so assume they were.
    super(502, "upstream_fetch_failed", message, "after_write", options);
  }
}

const BODYLESS_METHODS = new Set(["GET", "HEAD"]);

/** What a stalled fetch was waiting for: its response head, or the next bytes of a small body. */
type FetchStall = "first_byte" | "idle";

export async function fetchEgress(req: EgressRequest, timeouts: FetchTimeouts): Promise<Response> {
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(req.signal?.reason);
  if (req.signal?.aborted) onClientAbort();
  req.signal?.addEventListener("abort", onClientAbort, { once: true });

  // One watchdog for the head and, for a small answer, its body (`watchdog.ts`): one timer per request.
  const dog = new Watchdog<FetchStall>(({ kind, ms }) => {
    controller.abort();
    return new UpstreamTimeoutError(kind, ms, kind === "first_byte" ? "after_write" : "after_response");
  });

  let upstream: Response;
  try {
    const sent = fetch(req.url, {
      method: req.method,
      // Already through the header policy: `egress()` applies it once for both transports.
      headers: req.headers,
      body: BODYLESS_METHODS.has(req.method.toUpperCase())
        ? null
        : req.body instanceof HeldBody
          ? fixedLengthStream(req.body)
          : req.body,
      // A proxy hands redirects to its client instead of following them with the client's credentials.
      redirect: "manual",
      signal: controller.signal,
    });
    upstream = await dog.watch(sent, "first_byte", timeouts.firstByteTimeoutMs);
  } catch (error) {
    dog.stop();
    if (error instanceof GatewayError) throw error;
    throw new UpstreamFetchError(`upstream request failed: ${describe(error)}`, { cause: error });
  } finally {
    req.signal?.removeEventListener("abort", onClientAbort);
  }

  const init = {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: sanitizeResponseHeaders(upstream.headers),
  };
  if (upstream.body && isSmallPlainBody(upstream.headers)) {
    // A small answer (the usual JSON) is read whole by the runtime under one idle watch and handed over as bytes:
    // no JavaScript pump per chunk. Streams and larger bodies pass through the idle watchdog chunk by chunk.
    return new Response(await readSmallBody(upstream, timeouts.idleTimeoutMs, dog), init);
  }
  dog.stop();
  const body = upstream.body
    ? watchIdle(upstream.body, timeouts.idleTimeoutMs, () => controller.abort())
    : null;
  return new Response(body, init);
}

/**
 * A body of declared length up to `SMALL_BODY_BYTES` that the runtime does not decode (no content coding) and that
 * is not an event stream (whose events are passed on as they come, whatever its length).
 */
function isSmallPlainBody(headers: Headers): boolean {
  if (headers.has("content-encoding")) return false;
  if (headers.get("content-type")?.toLowerCase().includes("text/event-stream")) return false;
  const length = headers.get("content-length");
  if (length === null || !/^\d{1,15}$/.test(length)) return false;
  return Number(length) <= SMALL_BODY_BYTES;
}

async function readSmallBody(
  upstream: Response,
  idleTimeoutMs: number,
  dog: Watchdog<FetchStall>,
): Promise<ArrayBuffer> {
  try {
    return await dog.watch(upstream.arrayBuffer(), "idle", idleTimeoutMs);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    // Never a clean end after a failure: the body broke after the head, which the caller sees as this error.
    throw new UpstreamResetError(`response body: ${describe(error)}`, "after_response", { cause: error });
  } finally {
    dog.stop();
  }
}

/**
 * A held body as a stream of views of its pieces (no copy), with its length: fetch() sends a plain stream chunked,
 * a `FixedLengthStream` with `Content-Length`, as it would the same bytes given as one array.
 */
function fixedLengthStream(body: HeldBody): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(body.byteLength);
  body
    .stream()
    .pipeTo(writable)
    .catch(() => {});
  return readable;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

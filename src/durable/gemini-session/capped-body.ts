/**
 * Reading a whole request body into memory, with a cap. Routes that must hold a body before acting on it (the
 * protected Gemini routes parse and re-send it; the OpenAI-compatible Gemini route translates it) read it here, and
 * nowhere else: every other route streams its body and keeps at most the bounded replay buffers of
 * `replay-body.ts` and `egress-policy.ts`.
 */
import { concatBytes } from "../../transport/bytes";
import { GatewayError } from "../../transport/errors";

/**
 * Largest body a buffered route accepts: 32 MiB. An isolate has 128 MB for everything; a native protected request's
 * body streams through the Worker and is held once, by its session object (about 1× the body at the peak once the
 * heap has grown, see `bench/memory.mjs`), so 32 MiB leaves room for the isolate's own heap and other requests.
 * Clients with larger inputs use the Files API, which Gemini offers for exactly that.
 */
export const BUFFERED_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** The body is larger than the route can hold: send a smaller request (or upload large inputs separately). */
export class RequestBodyTooLargeError extends GatewayError {
  readonly limitBytes: number;
  constructor(limitBytes: number, announced: number | null) {
    const size = announced === null ? "more than that" : `${announced} bytes`;
    super(
      413,
      "request_body_too_large",
      `request body too large: this route reads the whole body and accepts at most ${limitBytes} bytes ` +
        `(${limitBytes / (1024 * 1024)} MiB); this one is ${size}. Send large inputs through the Files API.`,
    );
    this.limitBytes = limitBytes;
  }
}

/** `Content-Length` as a number, or null when absent or not a plain decimal. */
export function declaredLength(headers: Headers): number | null {
  const raw = headers.get("content-length");
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

/**
 * Reads `body` whole. A declared length over `limitBytes` is refused before any byte is read; without one, the
 * bytes are counted as they arrive and the read stops (and the stream is cancelled) as soon as they pass the limit.
 * With a declared length the bytes land directly in one buffer of that size (no chunk list, no final copy).
 */
export async function readCappedBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: number | null,
  limitBytes: number,
): Promise<Uint8Array> {
  if (contentLength !== null && contentLength > limitBytes) {
    await body?.cancel().catch(() => {});
    throw new RequestBodyTooLargeError(limitBytes, contentLength);
  }
  if (body === null) return new Uint8Array(0);
  if (contentLength !== null) {
    const into = await readInto(body, contentLength);
    if (into !== null) return into;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(chunks, size);
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      throw new RequestBodyTooLargeError(limitBytes, null);
    }
    chunks.push(value);
  }
}

/**
 * Reads a body of known length straight into one buffer with a BYOB reader; null when the stream has no BYOB mode
 * (the caller then reads chunks). A body that turns out longer than declared is an error, never truncated.
 */
async function readInto(body: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array | null> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    return null;
  }
  let buffer = new ArrayBuffer(length);
  let filled = 0;
  while (filled < length) {
    const { done, value } = await reader.read(new Uint8Array(buffer, filled, length - filled));
    if (done || value === undefined) break;
    buffer = value.buffer as ArrayBuffer;
    filled += value.byteLength;
  }
  if (filled < length)
    throw new GatewayError(400, "bad_request", "request body ended before its Content-Length");
  // Anything after the declared length is a framing error the runtime normally prevents.
  const extra = await reader.read(new Uint8Array(1));
  if (!extra.done) {
    await reader.cancel().catch(() => {});
    throw new GatewayError(400, "bad_request", "request body is longer than its Content-Length");
  }
  return new Uint8Array(buffer, 0, length);
}

/**
 * Reads a body without a declared length up to `limitBytes`: the whole body when it fits, else a stream that yields
 * the bytes already read and then the rest, unread (so a large body can still go on without a full copy here).
 */
export async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<{ whole: Uint8Array } | { stream: ReadableStream<Uint8Array> }> {
  if (body === null) return { whole: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { whole: concatBytes(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
    if (size > limitBytes) break;
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next !== undefined) return controller.enqueue(next);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { stream };
}

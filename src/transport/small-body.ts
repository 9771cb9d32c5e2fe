/**
 * Small request bodies are read whole before a socket attempt. A typical LLM call is a few KiB of JSON with a
 * `Content-Length`; streaming it through the replay recorder and a reader loop cost more than the bytes (a wrapper
 * stream, a reader and a write per chunk). Read whole, the body is a byte array: always replayable without a
 * recorder, and written in the same socket write as the request head (`socket-http.ts`).
 */

import { ClientBodyError } from "./errors";
import { parseContentLength } from "./http1-writer";

/** Largest declared body read whole; larger ones stream (with a replay copy up to `REPLAY_BUFFER_LIMIT_BYTES`). */
export const SMALL_BODY_BYTES = 64 * 1024;

/** The declared length when `body` is a stream small enough to read whole; otherwise null. */
export function smallBodyLength(headers: Headers, body: unknown): number | null {
  if (!(body instanceof ReadableStream)) return null;
  const declared = parseContentLength(headers.get("content-length"));
  return declared !== null && declared <= SMALL_BODY_BYTES ? declared : null;
}

/**
 * Reads exactly `declared` bytes from the client's stream. A body that is longer or shorter than its
 * `Content-Length`, or that breaks while read, is the client's error (`ClientBodyError`), as it is when streamed.
 */
export async function readDeclaredBody(
  stream: ReadableStream<Uint8Array>,
  declared: number,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(stream);
  } catch (error) {
    throw new ClientBodyError(`reading the request body failed: ${String(error)}`);
  }
  if (bytes.byteLength > declared)
    throw new ClientBodyError("request body is longer than its Content-Length");
  if (bytes.byteLength < declared)
    throw new ClientBodyError("request body is shorter than its Content-Length");
  return bytes;
}

/**
 * A stream's bytes, read by the runtime (`Response.arrayBuffer()`): no JavaScript read loop. Only for bodies already
 * known to be small; nothing bounds the read.
 */
export async function readWhole(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

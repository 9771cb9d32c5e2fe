/**
 * The wire format of a session's `/start` (Worker → `GeminiSession`): the session settings as one JSON line, then the
 * request's bytes exactly as the client sent them (or as the OpenAI translation encoded them). The request is never
 * embedded in the JSON: that would re-encode (and, on the object's side, re-parse) the whole body once more.
 */
import { type EncodedRequest, encodedRequest } from "../gemini/continuation-bytes";
import { BUFFERED_BODY_LIMIT_BYTES, declaredLength, readCappedBody } from "./capped-body";
import type { SessionStart } from "./gemini-session";

const NEWLINE = 0x0a;
/** Room for the settings line (headers, prompts) on top of the request body's own limit. */
const START_SETTINGS_LIMIT_BYTES = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The `/start` body. A fixed-length stream hands the object the request buffer without joining it with the
 * settings into a new copy, and tells the object the total length (it then reads into one buffer).
 */
export function sessionStartBody(start: SessionStart, requestBytes: Uint8Array): ReadableStream<Uint8Array> {
  // JSON.stringify never writes a raw newline, so the first one ends the settings.
  const head = encoder.encode(`${JSON.stringify(start)}\n`);
  const { readable, writable } = new FixedLengthStream(head.length + requestBytes.length);
  const writer = writable.getWriter();
  // Not awaited: the writes complete as the object reads; a failed start shows up in its response.
  Promise.all([writer.write(head), writer.write(requestBytes), writer.close()]).catch(() => {});
  return readable;
}

/** Reads a `/start` body; null when it is not one (a bug, or a request that is not JSON the engine can index). */
export async function readSessionStart(
  request: Request,
): Promise<{ start: SessionStart; request: EncodedRequest } | null> {
  const bytes = await readCappedBody(
    request.body,
    declaredLength(request.headers),
    BUFFERED_BODY_LIMIT_BYTES + START_SETTINGS_LIMIT_BYTES,
  );
  const newline = bytes.indexOf(NEWLINE);
  if (newline < 0) return null;
  let start: SessionStart;
  try {
    start = JSON.parse(decoder.decode(bytes.subarray(0, newline))) as SessionStart;
  } catch {
    return null;
  }
  // A view: the request stays in the buffer it was read into, and every attempt reuses it.
  const encoded = encodedRequest(bytes.subarray(newline + 1));
  return encoded === null ? null : { start, request: encoded };
}

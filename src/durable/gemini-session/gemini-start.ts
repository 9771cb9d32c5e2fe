/**
 * The wire format of a session's `/start` (Worker → `GeminiSession`): the session settings as one JSON line, then the
 * request's bytes exactly as the client sent them (or as the OpenAI translation encoded them). The request is never
 * embedded in the JSON: that would re-encode (and, on the object's side, re-parse) the whole body once more.
 *
 * A native request's body goes to the object as it arrives: the Worker never holds it. The object reads it (with the
 * body cap), indexes it, and answers `/start` with one of three outcomes, named by `START_OUTCOME_HEADER` when it is
 * not a session: `too-large` (the Worker answers 413), `not-protectable` (the object sends the bytes back and the
 * Worker forwards them unprotected, as it would have), or the session itself.
 */
import { type EncodedRequest, encodedRequest, generationConfigOf } from "../../gemini/continuation-bytes";
import {
  BUFFERED_BODY_LIMIT_BYTES,
  declaredLength,
  RequestBodyTooLargeError,
  readCappedBody,
} from "./capped-body";
import type { SessionStart } from "./gemini-session";

const NEWLINE = 0x0a;
/** Largest settings line (client headers, prompts) the object accepts. */
const START_SETTINGS_LIMIT_BYTES = 1024 * 1024;
/** Set on a `/start` answer that is not a session: `too-large` or `not-protectable`. */
export const START_OUTCOME_HEADER = "x-gemini-start-outcome";
const SETTINGS_BYTES_HEADER = "x-gemini-start-settings-bytes";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The `/start` body: the settings line, then `body` (the client's stream, or bytes the Worker made). With a known
 * length it is a fixed-length stream, so the object knows the total and reads into one buffer.
 */
export function sessionStartInit(
  start: SessionStart,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  bodyLength: number | null,
): { body: ReadableStream<Uint8Array>; headers: Record<string, string> } {
  // JSON.stringify never writes a raw newline, so the first one ends the settings.
  const head = encoder.encode(`${JSON.stringify(start)}\n`);
  const length = body instanceof Uint8Array ? body.length : body === null ? 0 : bodyLength;
  const { readable, writable } =
    length === null
      ? new TransformStream<Uint8Array, Uint8Array>()
      : new FixedLengthStream(head.length + length);
  const writer = writable.getWriter();
  // Not awaited: the writes complete as the object reads; a failed start shows up in its response.
  const sent = (async () => {
    await writer.write(head);
    if (body instanceof Uint8Array) {
      await writer.write(body);
      await writer.close();
    } else if (body === null) {
      await writer.close();
    } else {
      writer.releaseLock();
      await body.pipeTo(writable as WritableStream<Uint8Array>);
    }
  })();
  sent.catch(() => {});
  // The settings' length lets the object apply the body cap exactly to the request's own bytes.
  return {
    body: readable,
    headers: { "content-type": "application/octet-stream", [SETTINGS_BYTES_HEADER]: String(head.length) },
  };
}

export type StartRead =
  | { kind: "session"; start: SessionStart; request: EncodedRequest }
  | { kind: "not-protectable"; bytes: Uint8Array }
  | { kind: "too-large" }
  | { kind: "malformed" };

/**
 * Reads a `/start` body. A request the engine cannot continue (see `request-index.ts`, or asking for several
 * candidates) comes back as `not-protectable` with its bytes.
 */
export async function readSessionStart(request: Request): Promise<StartRead> {
  const settingsBytes = Number(request.headers.get(SETTINGS_BYTES_HEADER));
  if (!Number.isInteger(settingsBytes) || settingsBytes <= 0 || settingsBytes > START_SETTINGS_LIMIT_BYTES) {
    return { kind: "malformed" };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readCappedBody(
      request.body,
      declaredLength(request.headers),
      settingsBytes + BUFFERED_BODY_LIMIT_BYTES,
    );
  } catch (error) {
    if (error instanceof RequestBodyTooLargeError) return { kind: "too-large" };
    throw error;
  }
  const newline = bytes.indexOf(NEWLINE);
  if (newline !== settingsBytes - 1) return { kind: "malformed" };
  let start: SessionStart;
  try {
    start = JSON.parse(decoder.decode(bytes.subarray(0, newline))) as SessionStart;
  } catch {
    return { kind: "malformed" };
  }
  // A view: the request stays in the buffer it was read into, and every attempt reuses it.
  const body = bytes.subarray(newline + 1);
  if (body.length > BUFFERED_BODY_LIMIT_BYTES) return { kind: "too-large" };
  const encoded = protectableRequest(body);
  if (encoded === null) return { kind: "not-protectable", bytes: body };
  return { kind: "session", start, request: encoded };
}

/**
 * The request as the engine holds it, or null when the engine cannot continue it (not JSON it can index, see
 * `request-index.ts`; several candidates, which cannot be continued as one answer): then it is forwarded unprotected.
 * The one rule for both starts: the object's `/start` and the Worker's fast start (`gemini-fast-start.ts`).
 */
export function protectableRequest(body: Uint8Array): EncodedRequest | null {
  const encoded = encodedRequest(body);
  if (encoded === null) return null;
  const count = generationConfigOf(encoded.original.index)?.candidateCount;
  if (count !== undefined && count !== 1) return null;
  return encoded;
}

/** The object's answer for a `/start` that is not a session. */
export function startOutcomeResponse(read: StartRead): Response | null {
  if (read.kind === "too-large") {
    return new Response(null, { status: 413, headers: { [START_OUTCOME_HEADER]: "too-large" } });
  }
  if (read.kind === "not-protectable") {
    return new Response(read.bytes, { headers: { [START_OUTCOME_HEADER]: "not-protectable" } });
  }
  return null;
}

import { UpstreamError, UpstreamProtocolError } from "./errors";

/**
 * Content codings on the socket path. workerd's `fetch()` transparently decodes a gzip response body
 * (keeping the `Content-Encoding` header, so the runtime re-encodes it toward the client). Everything
 * downstream — the Gemini stream parser, SSE handling, error mapping — relies on seeing decoded bytes,
 * so the socket transport must behave the same: it asks only for codings it can decode and decodes
 * them. A coding it cannot decode (the upstream ignored Accept-Encoding) is passed through untouched
 * with `encodeBody: "manual"`, so the client still receives a correct body, never a double encoding.
 */

export type DecodableCoding = "gzip" | "deflate";

/** Codings `DecompressionStream` supports in workerd (not `br`), plus `identity`. */
const DECODABLE = new Set(["gzip", "x-gzip", "deflate", "identity"]);

/**
 * Narrows a client's `Accept-Encoding` to what the socket transport can decode, keeping order and
 * q-values. `null` (no header) stays `null`; a list with nothing decodable becomes `identity`. `*`
 * is dropped: it would invite codings we cannot decode.
 */
export function narrowAcceptEncoding(value: string | null): string | null {
  if (value === null) return null;
  const kept = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => DECODABLE.has((item.split(";")[0] ?? "").trim().toLowerCase()));
  return kept.length > 0 ? kept.join(", ") : "identity";
}

/**
 * How to treat a response's `Content-Encoding`: `null` for none/identity, the decoder format for a
 * single gzip/deflate coding, `"passthrough"` for anything else (unknown, `br`, stacked codings).
 */
export function responseCoding(contentEncoding: string | null): DecodableCoding | "passthrough" | null {
  if (contentEncoding === null) return null;
  const codings = contentEncoding
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return null;
  if (codings.length > 1) return "passthrough";
  const only = codings[0];
  if (only === "gzip" || only === "x-gzip") return "gzip";
  if (only === "deflate") return "deflate";
  return "passthrough";
}

/**
 * Decodes a response body, pull-based (backpressure preserved). A corrupt encoding errors the stream
 * with `UpstreamProtocolError` (after the response started); upstream failures keep their own type.
 */
export function decodeBody(
  body: ReadableStream<Uint8Array>,
  coding: DecodableCoding,
): ReadableStream<Uint8Array> {
  const decoded = body.pipeThrough(
    new DecompressionStream(coding) as ReadableWritablePair<Uint8Array, Uint8Array>,
  );
  const reader = decoded.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(
            error instanceof UpstreamError
              ? error
              : new UpstreamProtocolError(`invalid ${coding} response body`, "after_response"),
          );
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

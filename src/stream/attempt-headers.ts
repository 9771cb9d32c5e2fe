/**
 * The headers of one repair attempt (a Gemini session's or a stream session's): the client's headers, less those
 * that describe the client's own body or encoding. Every attempt sends a new JSON body, and the engine must read the
 * upstream stream uncompressed (the socket transport does not decode `content-encoding`).
 */
const REPLACED_HEADERS = [
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "accept-encoding",
  "accept",
];

export function attemptHeaders(client: HeadersInit, bodyBytes: number): Headers {
  const headers = new Headers(client);
  for (const name of REPLACED_HEADERS) headers.delete(name);
  headers.set("content-type", "application/json");
  headers.set("accept", "text/event-stream");
  headers.set("accept-encoding", "identity");
  headers.set("content-length", String(bodyBytes));
  return headers;
}

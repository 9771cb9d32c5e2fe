/**
 * Whether a protected route's request can be protected: the one rule the Worker applies before its fast start
 * (`gemini-fast-start.ts`) and the object applies again to what it is fed (`gemini-adopt.ts`).
 */
import { type EncodedRequest, encodedRequest, generationConfigOf } from "../../gemini/continuation-bytes";

/**
 * The request as the engine holds it, or null when the engine cannot continue it (not JSON it can index, see
 * `request-index.ts`; several candidates, which cannot be continued as one answer): then it is forwarded unprotected.
 */
export function protectableRequest(body: Uint8Array): EncodedRequest | null {
  const encoded = encodedRequest(body);
  if (encoded === null) return null;
  const count = generationConfigOf(encoded.original.index)?.candidateCount;
  if (count !== undefined && count !== 1) return null;
  return encoded;
}

/** Token checks for the proxy (DESIGN §4): constant-time, whatever the lengths. */

const encoder = new TextEncoder();

/**
 * Compares in time that depends only on the longer input's length, so response timing does not reveal
 * how much of a guessed token was right.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  const length = Math.max(left.length, right.length);
  let difference = left.length ^ right.length;
  for (let i = 0; i < length; i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

export const TOKEN_HEADER = "x-proxy-token";

/** True when `candidate` is the configured token. False when no token is configured. */
export function isValidToken(configured: string | null, candidate: string | null | undefined): boolean {
  if (configured === null || candidate === null || candidate === undefined) return false;
  return constantTimeEqual(configured, candidate);
}

/**
 * True when a path segment carries the token, as written or percent-decoded: base64-style tokens hold
 * `/`, `+` and `=`, which clients encode, and any encoding of the same token is accepted. Every route
 * that takes a token in the path (the proxy routes and `/{token}/health`) uses this one check, and the
 * request log redacts whatever segment it accepted (`loggedPath`).
 */
export function isValidPathToken(configured: string | null, segment: string): boolean {
  if (isValidToken(configured, segment)) return true;
  if (configured === null || !segment.includes("%")) return false;
  try {
    return isValidToken(configured, decodeURIComponent(segment));
  } catch {
    return false;
  }
}

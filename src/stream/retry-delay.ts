/**
 * How long to wait before retrying a 429, from what the upstream said: Google puts a `google.rpc.RetryInfo` detail
 * (`"retryDelay": "12s"` / `"0.5s"`) in its error body; HTTP gives `Retry-After` (seconds or an HTTP date). Returns
 * null when neither says anything usable. `nowMs` is the injected clock (for the date form).
 */
export function upstreamRetryDelayMs(
  headers: { get(name: string): string | null } | null,
  errorBody: unknown,
  nowMs: number,
): number | null {
  const fromBody = retryInfoDelayMs(errorBody);
  if (fromBody !== null) return fromBody;
  const header = headers?.get("retry-after")?.trim();
  if (!header) return null;
  if (/^\d+(\.\d+)?$/.test(header)) return Math.round(Number(header) * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function retryInfoDelayMs(body: unknown): number | null {
  const details = (body as { error?: { details?: unknown } } | null)?.error?.details;
  if (!Array.isArray(details)) return null;
  for (const d of details) {
    if (typeof d !== "object" || d === null) continue;
    const type = (d as { "@type"?: unknown })["@type"];
    const delay = (d as { retryDelay?: unknown }).retryDelay;
    if (typeof type === "string" && type.endsWith("google.rpc.RetryInfo") && typeof delay === "string") {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
      if (m) return Math.round(Number(m[1]) * 1000);
    }
  }
  return null;
}

/** Exponential backoff for 5xx and transport failures: base·2^(n-1), capped (n = consecutive failures, ≥ 1). */
export function serverErrorBackoffMs(consecutiveFailures: number, baseMs: number, capMs: number): number {
  const exp = Math.max(0, consecutiveFailures - 1);
  return Math.min(capMs, baseMs * 2 ** Math.min(exp, 20));
}

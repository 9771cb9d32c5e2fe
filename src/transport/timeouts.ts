/**
 * Egress timeouts (issue 3, DESIGN §6). Every value is configurable per call through
 * `EgressOptions.timeouts`; these are the defaults.
 *
 * Why these numbers:
 * - Connect: a TCP+TLS handshake to a healthy upstream takes well under a second; 10 s leaves room
 *   for a slow path while still failing over to `fetch` (or another target) quickly.
 * - First byte: a *non-streaming* LLM call sends its status line only after the whole answer was
 *   generated, and reasoning models routinely think for minutes. The official OpenAI and Anthropic
 *   SDKs default to a 600 s request timeout. A first-byte timeout that fires on a legitimate slow
 *   generation is costly: with `AGGRESSIVE_FALLBACK` it replays the (billed) request through fetch.
 *   300 s tolerates slow time-to-first-token while still unsticking a truly hung upstream.
 * - Idle: the gap between two reads once the response started. Streaming models emit tokens or
 *   keep-alive comments far more often than this; 300 s only catches a stalled connection. (The
 *   Gemini anti-truncation engine has its own, shorter stall detector on top.)
 */
export const CONNECT_TIMEOUT_MS = 10_000;
export const FIRST_BYTE_TIMEOUT_MS = 300_000;
export const IDLE_TIMEOUT_MS = 300_000;

export interface EgressTimeouts {
  /** From `connect()` until the socket (and TLS) is open. */
  connectTimeoutMs: number;
  /** From the end of writing the request head until the first response byte. */
  firstByteTimeoutMs: number;
  /** Between two successive reads of the response (head or body), once the first byte arrived. */
  idleTimeoutMs: number;
}

export const DEFAULT_EGRESS_TIMEOUTS: Readonly<EgressTimeouts> = Object.freeze({
  connectTimeoutMs: CONNECT_TIMEOUT_MS,
  firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS,
  idleTimeoutMs: IDLE_TIMEOUT_MS,
});

/** Fills the unset fields with the defaults; rejects non-positive or non-finite values. */
export function resolveTimeouts(overrides?: Partial<EgressTimeouts>): EgressTimeouts {
  const out: EgressTimeouts = { ...DEFAULT_EGRESS_TIMEOUTS };
  for (const key of Object.keys(out) as (keyof EgressTimeouts)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${key} must be a positive number of milliseconds, got ${value}`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * Races `promise` against a timer: on timeout runs `onTimeout` (typically closing the socket) and
 * rejects with `error()`. The raced promise's own later rejection is swallowed — it is usually the
 * socket closing under it, and an unobserved rejection would surface as an uncaught error in workerd.
 */
export async function raceTimeout<T>(
  promise: Promise<T>,
  ms: number,
  error: () => Error,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  promise.catch(() => {});
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(error());
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

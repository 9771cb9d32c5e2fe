/**
 * The gateway's own overhead, told to the client in a `Server-Timing` header (issue 13 item 3), so a
 * user can set our cost against the provider's in their own traffic:
 *
 * - `gw-pre`: from the request's arrival until the gateway called the upstream (the whole handling
 *   when no upstream was called: `/health`, errors, the dashboard);
 * - `gw-upstream`: from the first upstream call until the last attempt's response head was back
 *   (connect, TLS, the provider's time to first byte, and any failover in between); only present when
 *   an upstream (or, for protected Gemini streams, the session object) was called;
 * - `gw-headers`: from the request's arrival until the gateway handed its response head to the
 *   runtime. The gateway's own share is `gw-headers − gw-upstream`.
 *
 * Durations come from a clock passed in (the Worker uses `performance.now()`). On Cloudflare that clock
 * only advances when the Worker does I/O (a Spectre mitigation), so CPU work alone reads as 0 there:
 * the figures count waiting (health snapshots, key-pool reads, Durable Object calls), not computation.
 */

export const SERVER_TIMING_HEADER = "server-timing";

export class RequestTiming {
  readonly startedAt: number;
  private upstreamFrom: number | null = null;
  private upstreamUntil: number | null = null;

  constructor(private readonly now: () => number) {
    this.startedAt = now();
  }

  /** Marks the first upstream call (later calls, e.g. failover attempts, keep the first mark). */
  upstreamStarted(): void {
    if (this.upstreamFrom === null) this.upstreamFrom = this.now();
  }

  /** Marks the arrival of an upstream response head (the last one counts). */
  upstreamAnswered(): void {
    if (this.upstreamFrom !== null) this.upstreamUntil = this.now();
  }

  /** Wraps an upstream call so that its start and its answer (or failure) are marked. */
  async around<T>(call: () => Promise<T>): Promise<T> {
    this.upstreamStarted();
    try {
      return await call();
    } finally {
      this.upstreamAnswered();
    }
  }

  /** First upstream call to the last answer, in ms, for the request's log line; null when none was made. */
  upstreamMs(): number | null {
    if (this.upstreamFrom === null) return null;
    return Number(ms((this.upstreamUntil ?? this.now()) - this.upstreamFrom));
  }

  /** The header value at the moment the response head leaves. */
  headerValue(): string {
    const end = this.now();
    const total = end - this.startedAt;
    if (this.upstreamFrom === null) {
      return `gw-pre;dur=${ms(total)}, gw-headers;dur=${ms(total)}`;
    }
    const upstream = (this.upstreamUntil ?? end) - this.upstreamFrom;
    return `gw-pre;dur=${ms(this.upstreamFrom - this.startedAt)}, gw-upstream;dur=${ms(upstream)}, gw-headers;dur=${ms(total)}`;
  }
}

/** Milliseconds with at most two decimals, never negative (clocks in the runtime may be coarse). */
function ms(value: number): string {
  const clamped = Math.max(0, value);
  return String(Math.round(clamped * 100) / 100);
}

/**
 * Per-target statistics (pure, plain JSON so they travel over RPC and into SQLite unchanged):
 * lifetime counters, an EWMA of response latency, p50/p95 over the most recent responses, and
 * success/failure counts over a sliding time window made of fixed buckets.
 *
 * Functions mutate the `TargetStats` they are given (the owner holds one object per target).
 */

/** Weight of the newest sample in the latency EWMA: 0.3 follows a shift within a handful of requests. */
export const LATENCY_EWMA_ALPHA = 0.3;
/** How many recent latencies p50/p95 are computed over (a sliding window, oldest dropped first). */
export const LATENCY_SAMPLE_SIZE = 128;
/** The success-rate window is split into this many buckets; old buckets drop out whole. */
export const SUCCESS_WINDOW_BUCKETS = 6;

export interface WindowBucket {
  /** Bucket start, ms since the epoch, aligned to the bucket width. */
  start: number;
  ok: number;
  fail: number;
}

export interface TargetStats {
  requests: number;
  successes: number;
  failures: number;
  /** Of `failures`: answers with HTTP 429. */
  rateLimited: number;
  consecutiveFailures: number;
  latencyEwmaMs: number | null;
  /** Most recent response latencies, oldest first, at most `LATENCY_SAMPLE_SIZE`. */
  latencySamples: number[];
  window: WindowBucket[];
}

export function emptyStats(): TargetStats {
  return {
    requests: 0,
    successes: 0,
    failures: 0,
    rateLimited: 0,
    consecutiveFailures: 0,
    latencyEwmaMs: null,
    latencySamples: [],
    window: [],
  };
}

/** How one attempt ended, as far as the statistics care. */
export interface StatsSample {
  at: number;
  ok: boolean;
  /** A 429: a failure in the lifetime counters, but not evidence of ill health (kept out of the window). */
  rateLimited: boolean;
  /** Counts toward `consecutiveFailures` (connect error, timeout, reset, 502/503/504). */
  gatewayFailure: boolean;
  /** Time to the response head; null when no response arrived. */
  latencyMs: number | null;
}

function bucketWidthMs(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / SUCCESS_WINDOW_BUCKETS));
}

function pruneWindow(stats: TargetStats, now: number, windowMs: number): void {
  const oldestStart = now - windowMs;
  // A bucket is kept while any part of it lies inside the window.
  const width = bucketWidthMs(windowMs);
  stats.window = stats.window.filter((b) => b.start + width > oldestStart && b.start <= now);
}

export function recordSample(stats: TargetStats, sample: StatsSample, windowMs: number): void {
  stats.requests += 1;
  if (sample.ok) {
    stats.successes += 1;
    stats.consecutiveFailures = 0;
  } else {
    stats.failures += 1;
    if (sample.rateLimited) stats.rateLimited += 1;
    if (sample.gatewayFailure) stats.consecutiveFailures += 1;
  }
  if (sample.latencyMs !== null && Number.isFinite(sample.latencyMs) && sample.latencyMs >= 0) {
    const ms = sample.latencyMs;
    stats.latencyEwmaMs =
      stats.latencyEwmaMs === null
        ? ms
        : stats.latencyEwmaMs + LATENCY_EWMA_ALPHA * (ms - stats.latencyEwmaMs);
    stats.latencySamples.push(ms);
    if (stats.latencySamples.length > LATENCY_SAMPLE_SIZE) stats.latencySamples.shift();
  }
  if (sample.rateLimited) return;
  pruneWindow(stats, sample.at, windowMs);
  const width = bucketWidthMs(windowMs);
  const start = Math.floor(sample.at / width) * width;
  let bucket = stats.window.find((b) => b.start === start);
  if (!bucket) {
    bucket = { start, ok: 0, fail: 0 };
    stats.window.push(bucket);
    stats.window.sort((a, b) => a.start - b.start);
  }
  if (sample.ok) bucket.ok += 1;
  else bucket.fail += 1;
}

/** Successes and failures (429s excluded) within the last `windowMs` before `now`. */
export function windowCounts(
  stats: TargetStats,
  now: number,
  windowMs: number,
): { ok: number; fail: number } {
  const width = bucketWidthMs(windowMs);
  let ok = 0;
  let fail = 0;
  for (const b of stats.window) {
    if (b.start + width > now - windowMs && b.start <= now) {
      ok += b.ok;
      fail += b.fail;
    }
  }
  return { ok, fail };
}

/** Forgets the window (after an ejection, so a returning target is judged on fresh traffic). */
export function resetWindow(stats: TargetStats): void {
  stats.window = [];
}

/** Nearest-rank percentile (`p` in 0..100) of `values`; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
}

/** Lifetime success rate, rounded to 3 decimals; null before the first request. */
export function successRate(stats: TargetStats): number | null {
  if (stats.requests === 0) return null;
  return Math.round((stats.successes / stats.requests) * 1000) / 1000;
}

export function latencySummary(stats: TargetStats): {
  ewma: number | null;
  p50: number | null;
  p95: number | null;
} {
  const ewma = stats.latencyEwmaMs === null ? null : Math.round(stats.latencyEwmaMs * 10) / 10;
  return {
    ewma,
    p50: percentile(stats.latencySamples, 50),
    p95: percentile(stats.latencySamples, 95),
  };
}

/**
 * `GET /metrics` body (DESIGN §10): the `/health` report rendered as Prometheus text exposition 0.0.4.
 * Pure: it takes the very report `/health` would return, so a scrape and a `/health` read made from the
 * same Durable Object records show the same numbers.
 *
 * Conventions: base units (seconds), `_total` on counters, `# HELP` and `# TYPE` on every family,
 * label values escaped. A counter must never go down, so a record this scrape could not read is left
 * out (its series go missing for one scrape) instead of being shown as zeros, and a `*_read_failed`
 * gauge says so.
 */
import type { HealthReport } from "../durable/health/health-report";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every target state of DESIGN §7; the state gauge lists each one for every target (1 current, 0 others). */
export const TARGET_STATES = ["healthy", "failing", "ejected", "rate_limited", "probing"] as const;
/** Every key state of a key pool (DESIGN §7 `keys`), listed the same way. */
export const KEY_STATES = ["ok", "rate_limited", "invalid", "exhausted"] as const;

type Labels = Readonly<Record<string, string>>;
type Sample = { labels: Labels; value: number };
type Family = { name: string; type: "counter" | "gauge"; help: string; samples: Sample[] };

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `# HELP` text escaping: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatSample(name: string, sample: Sample): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  const labels = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
  return `${name}${labels} ${formatValue(sample.value)}`;
}

/** Renders families in order; a family with no samples still gets its HELP and TYPE. */
function formatFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(formatSample(f.name, s));
  }
  return `${lines.join("\n")}\n`;
}

const MS_PER_SECOND = 1000;

function family(name: string, type: Family["type"], help: string): Family {
  return { name, type, help, samples: [] };
}

/** The report as Prometheus text. */
export function renderMetrics(report: HealthReport): string {
  const requests = family(
    "llm_gateway_target_requests_total",
    "counter",
    "Attempts sent to the target (the `requests` of /health).",
  );
  const successes = family(
    "llm_gateway_target_successes_total",
    "counter",
    "Attempts the target answered successfully (the `successes` of /health).",
  );
  const failures = family(
    "llm_gateway_target_failures_total",
    "counter",
    "Attempts that failed: connect errors, timeouts, resets, 5xx and 429 answers (the `failures` of /health).",
  );
  const rateLimited = family(
    "llm_gateway_target_rate_limited_responses_total",
    "counter",
    "Of the failures: HTTP 429 answers (the `rate_limited_responses` of /health).",
  );
  const ejections = family(
    "llm_gateway_target_ejections_total",
    "counter",
    "Times the target was ejected by outlier detection (the `ejections` of /health).",
  );
  const state = family(
    "llm_gateway_target_state",
    "gauge",
    "1 for the target's current /health state, 0 for each other state.",
  );
  const consecutive = family(
    "llm_gateway_target_consecutive_failures",
    "gauge",
    "Gateway failures in a row since the target's last success.",
  );
  const latency = family(
    "llm_gateway_target_latency_seconds",
    "gauge",
    "Time to the response head over the target's most recent responses, by quantile (p50 and p95 of /health).",
  );
  const readFailed = family(
    "llm_gateway_endpoint_read_failed",
    "gauge",
    "1 when this scrape could not read the endpoint's health record (its target series are left out), else 0.",
  );

  for (const [endpoint, entry] of Object.entries(report.endpoints)) {
    readFailed.samples.push({ labels: { endpoint }, value: entry.error === undefined ? 0 : 1 });
    if (entry.error !== undefined) continue;
    for (const t of entry.targets) {
      const labels = { endpoint, target: t.url };
      requests.samples.push({ labels, value: t.requests });
      successes.samples.push({ labels, value: t.successes });
      failures.samples.push({ labels, value: t.failures });
      rateLimited.samples.push({ labels, value: t.rate_limited_responses });
      ejections.samples.push({ labels, value: t.ejections });
      consecutive.samples.push({ labels, value: t.consecutive_failures });
      for (const s of listStates(TARGET_STATES, t.state)) {
        state.samples.push({ labels: { ...labels, state: s.state }, value: s.value });
      }
      for (const [quantile, ms] of [
        ["0.5", t.latency_ms.p50],
        ["0.95", t.latency_ms.p95],
      ] as const) {
        // No sample yet: the series is absent rather than a made-up value.
        if (ms !== null) latency.samples.push({ labels: { ...labels, quantile }, value: ms / MS_PER_SECOND });
      }
    }
  }

  return formatFamilies([
    requests,
    successes,
    failures,
    rateLimited,
    ejections,
    state,
    consecutive,
    latency,
    readFailed,
    ...keyFamilies(report),
    ...sessionFamilies(report),
  ]);
}

/** Key pools (DESIGN §5.1 `keys`): each key by its fingerprint, never the key. */
function keyFamilies(report: HealthReport): Family[] {
  const requests = family(
    "llm_gateway_key_requests_total",
    "counter",
    "Attempts made with the pool key (the `requests` of a /health `keys` entry; `key` is its fingerprint).",
  );
  const rateLimited = family(
    "llm_gateway_key_rate_limited_responses_total",
    "counter",
    "HTTP 429 answers to attempts with the pool key.",
  );
  const state = family(
    "llm_gateway_key_state",
    "gauge",
    "1 for the pool key's current /health state, 0 for each other state.",
  );
  for (const [endpoint, entry] of Object.entries(report.endpoints)) {
    // A pool whose secret could not be read lists no keys (`keys_error`): its series go missing.
    for (const k of entry.keys ?? []) {
      const labels = { endpoint, key: k.fingerprint };
      requests.samples.push({ labels, value: k.requests });
      rateLimited.samples.push({ labels, value: k.rate_limited_responses });
      for (const s of listStates(KEY_STATES, k.state)) {
        state.samples.push({ labels: { ...labels, state: s.state }, value: s.value });
      }
    }
  }
  return [requests, rateLimited, state];
}

/** Each of `known` with 0, `current` with 1; a state newer than the list is added rather than lost. */
function listStates(known: readonly string[], current: string): { state: string; value: number }[] {
  const states = known.includes(current) ? [...known] : [...known, current];
  return states.map((state) => ({ state, value: state === current ? 1 : 0 }));
}

/** Counters of `/health` `sessions.<kind>` that are session outcomes (`llm_gateway_sessions_total{outcome}`). */
const SESSION_OUTCOMES = ["completed", "failed"] as const;

/**
 * Every kind of `/health` `sessions` (Gemini sessions, WebSocket relays, and any kind added later) by
 * the counters it has: `active`, the outcomes, `recovered` and `continuations`.
 */
function sessionFamilies(report: HealthReport): Family[] {
  const active = family(
    "llm_gateway_sessions_active",
    "gauge",
    "Sessions open now, by kind (protected Gemini streams, WebSocket relays).",
  );
  const total = family(
    "llm_gateway_sessions_total",
    "counter",
    "Sessions that ended, by kind and how they ended.",
  );
  const recovered = family(
    "llm_gateway_sessions_recovered_total",
    "counter",
    "Sessions whose upstream stream was cut and then completed by continuation (also counted as completed).",
  );
  const continuations = family(
    "llm_gateway_continuations_total",
    "counter",
    "Continuation requests sent upstream to repair cut streams, by session kind.",
  );
  const readFailed = family(
    "llm_gateway_sessions_read_failed",
    "gauge",
    "1 when this scrape could not read the session counters (the session series are left out), else 0.",
  );
  readFailed.samples.push({ labels: {}, value: report.sessions_error === undefined ? 0 : 1 });
  if (report.sessions_error === undefined) {
    for (const [kind, raw] of Object.entries(report.sessions)) {
      const counters = raw as Partial<Record<string, number>>;
      if (counters.active !== undefined) active.samples.push({ labels: { kind }, value: counters.active });
      for (const outcome of SESSION_OUTCOMES) {
        const value = counters[outcome];
        if (value !== undefined) total.samples.push({ labels: { kind, outcome }, value });
      }
      if (counters.recovered !== undefined)
        recovered.samples.push({ labels: { kind }, value: counters.recovered });
      if (counters.continuations !== undefined) {
        continuations.samples.push({ labels: { kind }, value: counters.continuations });
      }
    }
  }
  return [active, total, recovered, continuations, readFailed];
}

/**
 * Per-isolate health view of each endpoint, so selecting a target costs no Durable Object round
 * trip (DESIGN §3). Each isolate keeps the endpoint's target records from the last sync with its
 * `TargetHealth` object, applies its own outcomes to them at once (with the same pure policy the
 * object uses), and reports those outcomes in the background (`waitUntil`):
 *
 * - one sync per endpoint is in flight at a time; outcomes recorded meanwhile queue up and go out
 *   together in the next one. A routine outcome waits up to `REPORT_BATCH_DELAY_MS` for company;
 *   one that changes a target's state (ejection, rate limit, return to service) goes out at once,
 *   so other isolates learn it within one sync plus their `SNAPSHOT_TTL_MS`;
 * - every sync returns the object's records, which replace the local ones (outcomes still queued are
 *   re-applied on top), so other isolates' outcomes arrive within about `SNAPSHOT_TTL_MS`;
 * - a view older than `SNAPSHOT_TTL_MS` triggers a background sync; the request does not wait.
 *
 * The only awaited round trip is claiming a probe (`requestProbe`), once per ejection.
 */
import type { EndpointConfig } from "../transport/endpoint";
import {
  applyOutcomes,
  claimProbe,
  type HealthPolicy,
  type Outcome,
  stateOf,
  type TargetRecord,
} from "./health-policy";
import type { SyncResponse, TargetHealth } from "./target-health";

/** How long a view is used before a background sync refreshes it. */
export const SNAPSHOT_TTL_MS = 2_000;
/** Longest wait of a routine outcome before it is reported, so one sync carries many. */
export const REPORT_BATCH_DELAY_MS = 250;
/** Outcomes kept for resending while the Durable Object is unreachable (oldest dropped first). */
export const MAX_PENDING_OUTCOMES = 1_000;

export interface HealthEnv {
  TARGET_HEALTH: DurableObjectNamespace<TargetHealth>;
}

export interface HealthViewContext {
  env: HealthEnv;
  waitUntil(p: Promise<unknown>): void;
  now: () => number;
  /** Overrides `REPORT_BATCH_DELAY_MS` (tests use 0). */
  reportDelayMs?: number;
}

interface EndpointView {
  records: Record<string, TargetRecord>;
  /** Clock time of the last sync attempt; null before the first. */
  syncedAt: number | null;
  pending: Outcome[];
  /** The last sync in the chain (each waits for the previous one). */
  chain: Promise<unknown>;
  /** A sync is chained but has not started: new outcomes will ride along with it. */
  syncQueued: boolean;
  /** Ends the batching delay of the queued sync early. */
  wake: (() => void) | null;
  /** Someone is waiting for the queued sync: skip its batching delay (it may not have started yet). */
  hurry: boolean;
}

const views = new Map<string, EndpointView>();

function viewOf(name: string): EndpointView {
  let view = views.get(name);
  if (!view) {
    view = {
      records: {},
      syncedAt: null,
      pending: [],
      chain: Promise.resolve(),
      syncQueued: false,
      wake: null,
      hurry: false,
    };
    views.set(name, view);
  }
  return view;
}

async function runSync(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  env: HealthEnv,
  now: () => number,
  claim?: string,
): Promise<SyncResponse | null> {
  const view = viewOf(endpoint.name);
  const outcomes = view.pending;
  view.pending = [];
  view.hurry = false;
  view.syncedAt = now();
  const targets = endpoint.targets.map((t) => t.url);
  try {
    const stub = env.TARGET_HEALTH.get(env.TARGET_HEALTH.idFromName(endpoint.name));
    const response = (await stub.sync({
      targets,
      policy,
      outcomes,
      now: now(),
      ...(claim === undefined ? {} : { claimProbe: claim }),
    })) as SyncResponse;
    view.records = response.records;
    applyOutcomes(view.records, view.pending, policy, targets);
    return response;
  } catch {
    // The object is unreachable: keep the local view and resend the outcomes with the next sync.
    view.pending = outcomes.concat(view.pending).slice(-MAX_PENDING_OUTCOMES);
    return null;
  }
}

function chainSync(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  ctx: HealthViewContext,
  claim?: string,
): Promise<SyncResponse | null> {
  const view = viewOf(endpoint.name);
  hurry(view); // a caller is waiting: the queued sync goes now
  const next = view.chain.then(() => runSync(endpoint, policy, ctx.env, ctx.now, claim));
  view.chain = next;
  return next;
}

function hurry(view: EndpointView): void {
  view.hurry = true;
  view.wake?.();
}

function batchDelay(view: EndpointView, ms: number): Promise<void> {
  if (ms <= 0 || view.hurry) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      if (view.wake === done) view.wake = null;
      resolve();
    };
    const timer = setTimeout(done, ms);
    view.wake = done;
  });
}

function scheduleSync(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  ctx: HealthViewContext,
  urgent: boolean,
): void {
  const view = viewOf(endpoint.name);
  if (view.syncQueued) {
    if (urgent) hurry(view);
    return;
  }
  view.syncQueued = true;
  const delayMs = urgent ? 0 : (ctx.reportDelayMs ?? REPORT_BATCH_DELAY_MS);
  const next = view.chain
    .then(() => batchDelay(view, delayMs))
    .then(() => {
      view.syncQueued = false;
      return runSync(endpoint, policy, ctx.env, ctx.now);
    });
  view.chain = next;
  ctx.waitUntil(next);
}

/**
 * The endpoint's target records as this isolate knows them. Never waits; schedules a background
 * sync when the view is older than `SNAPSHOT_TTL_MS` (or was never synced).
 */
export function healthView(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  ctx: HealthViewContext,
): Readonly<Record<string, TargetRecord>> {
  const view = viewOf(endpoint.name);
  if (view.syncedAt === null || ctx.now() - view.syncedAt >= SNAPSHOT_TTL_MS) {
    scheduleSync(endpoint, policy, ctx, true);
  }
  return view.records;
}

/** Applies an outcome to the local view at once and reports it in the background. */
export function reportOutcome(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  outcome: Outcome,
  ctx: HealthViewContext,
): void {
  const view = viewOf(endpoint.name);
  const before = stateOf(view.records[outcome.url], outcome.at);
  applyOutcomes(
    view.records,
    [outcome],
    policy,
    endpoint.targets.map((t) => t.url),
  );
  view.pending.push(outcome);
  if (view.pending.length > MAX_PENDING_OUTCOMES) view.pending.shift();
  scheduleSync(endpoint, policy, ctx, stateOf(view.records[outcome.url], outcome.at) !== before);
}

/**
 * Claims the one probe of a `probing` target from the endpoint's object (reporting queued outcomes
 * in the same call). When the object cannot be reached, the claim is decided locally.
 */
export async function requestProbe(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  url: string,
  ctx: HealthViewContext,
): Promise<boolean> {
  const response = await chainSync(endpoint, policy, ctx, url);
  if (response) return response.probeClaimed;
  const record = viewOf(endpoint.name).records[url];
  return record !== undefined && claimProbe(record, ctx.now(), policy);
}

/** Reports queued outcomes and returns the object's records (for `/health`). */
export async function syncEndpoint(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  env: HealthEnv,
  now: () => number = Date.now,
): Promise<Record<string, TargetRecord>> {
  const response = await chainSync(endpoint, policy, { env, now, waitUntil: () => {} });
  if (response) return response.records;
  throw new Error(`health state of endpoint ${endpoint.name} is unavailable`);
}

/** Waits for every sync this isolate has queued, skipping batching delays (tests). */
export async function settleHealthReports(): Promise<void> {
  for (;;) {
    const chains = [...views.values()].map((v) => {
      if (v.syncQueued) hurry(v);
      return v.chain;
    });
    await Promise.all(chains);
    if ([...views.values()].every((v, i) => v.chain === chains[i])) return;
  }
}

/** Forgets every local view, as a fresh isolate would (tests). */
export function clearLocalHealthViews(): void {
  views.clear();
}

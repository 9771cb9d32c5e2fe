/**
 * Per-isolate health view of each endpoint, so selecting a target costs no Durable Object round
 * trip (DESIGN §3). A view holds the endpoint's target records from the last sync with its
 * `TargetHealth` object, applies its own outcomes to them at once (with the same pure policy the
 * object uses), and reports those outcomes in the background (`waitUntil`).
 *
 * Context safety. workerd binds every I/O object and every pending I/O to the request (or Durable
 * Object) that started it: a stub or an RPC promise used from another context fails ("Cannot perform
 * I/O on behalf of a different Durable Object"), and a Worker request whose I/O was chained onto
 * another request's promise runs it in that request's context, which may end first. So a view shares
 * DATA only (records, queued outcomes, the time of the last sync, who is sending); every RPC is
 * started by the caller that needs it, in its own context, with a stub made from its own `env`, under
 * its own `waitUntil`, and nobody awaits or `.then`s a promise another caller created:
 *
 * - one outcome-carrying sync per endpoint is in flight at a time (`sender`). A caller that finds one
 *   in flight only queues its outcomes (plain data) and returns; the sender, in its own context, loops
 *   to send what queued meanwhile (at most `MAX_SYNC_ROUNDS` rounds) before it finishes;
 * - a routine outcome waits up to the batching delay (`REPORT_BATCH_DELAY_MS`) for company; one that
 *   changes a target's state goes out at once. An urgent caller that finds a sender still waiting out
 *   its delay (no RPC yet) takes over and sends from its own context; the waiting one then finds itself
 *   replaced and ends without I/O (it is never woken from another context);
 * - a sender that has not finished after `SYNC_STALE_MS` of wall time is presumed dead (its context
 *   ended: a Worker past its `waitUntil` limit, an evicted object) and the next caller takes over;
 * - every sync returns the object's records, which replace the local ones (outcomes still queued are
 *   re-applied on top); a view older than `SNAPSHOT_TTL_MS` triggers a background sync.
 *
 * The only awaited round trips are claiming a probe (`requestProbe`, once per ejection) and `/health`
 * (`syncEndpoint`); both make their own RPC. `HealthViews` instances are independent; the Worker
 * uses the isolate-wide `isolateHealthViews`. The shared views are safe for Durable Objects too (only
 * data crosses between callers), but an object whose reports are carried by another object's sync
 * cannot wait for them: a Gemini session therefore owns its views (`parent: isolateHealthViews`, so
 * it starts from what the isolate knows) and settles them before it ends.
 *
 * Regional shards (`health-shards.ts`): views made with a `region` talk to the endpoint's shard of that region
 * (`<endpoint>#<region>`); the Worker takes the views of its request's region from `healthViewsFor()`. Views
 * without a region, `isolateHealthViews` and the session objects' views among them, use the unsharded object.
 */
import { applyKeyOutcomes, type KeyOutcome, type KeyRecord, keyStateOf } from "../../keys/key-state";
import type { EndpointConfig } from "../../transport/endpoint";
import {
  applyOutcomes,
  claimProbe,
  type HealthPolicy,
  type Outcome,
  stateOf,
  type TargetRecord,
} from "./health-policy";
import { shardName } from "./health-shards";
import type { SyncResponse, TargetHealth } from "./target-health";

/** How long a view is used before a background sync refreshes it. */
export const SNAPSHOT_TTL_MS = 2_000;
/** Longest wait of a routine outcome before it is reported, so one sync carries many. */
export const REPORT_BATCH_DELAY_MS = 250;
/** Outcomes kept for resending while the Durable Object is unreachable (oldest dropped first). */
export const MAX_PENDING_OUTCOMES = 1_000;
/** Wall time after which a sync still marked in flight is presumed abandoned by a context that ended. */
export const SYNC_STALE_MS = 15_000;
/** Syncs one sender makes before it ends, so one caller's `waitUntil` is not held by others' traffic. */
export const MAX_SYNC_ROUNDS = 8;

export interface HealthEnv {
  TARGET_HEALTH: DurableObjectNamespace<TargetHealth>;
}

export interface HealthViewContext {
  env: HealthEnv;
  waitUntil(p: Promise<unknown>): void;
  now: () => number;
  /** Overrides the views' batching delay (tests use 0). */
  reportDelayMs?: number;
}

export interface HealthViewsOptions {
  /** Batching delay of routine outcomes (default `REPORT_BATCH_DELAY_MS`). */
  reportDelayMs?: number;
  /**
   * Views to start from and to keep informed (records only, copied as data): a Durable Object that
   * owns its views starts from what its isolate already knows instead of selecting blind.
   */
  parent?: HealthViews;
  /** Wall clock of the staleness guard (`SYNC_STALE_MS`); the health clock may be a test's fake. */
  wallClock?: () => number;
  /** The region whose shard these views sync with; null or absent: the unsharded object. */
  region?: string | null;
}

/** The caller whose context carries the endpoint's outcome-carrying sync. */
interface Sender {
  /** Wall time it started (or started sending, after its batching delay). */
  since: number;
  /** False while it waits out its batching delay (no I/O yet): an urgent caller may take over. */
  sending: boolean;
}

interface EndpointView {
  records: Record<string, TargetRecord>;
  /** Health-clock time of the last sync attempt; null before the first. */
  syncedAt: number | null;
  pending: Outcome[];
  /** The endpoint's key-pool records (issue 14) and key outcomes queued for the next sync. */
  keys: Record<string, KeyRecord>;
  pendingKeys: KeyOutcome[];
  sender: Sender | null;
}

function hasPending(view: EndpointView): boolean {
  return view.pending.length > 0 || view.pendingKeys.length > 0;
}

function targetUrls(endpoint: EndpointConfig): string[] {
  return endpoint.targets.map((t) => t.url);
}

export class HealthViews {
  readonly #views = new Map<string, EndpointView>();
  readonly #reportDelayMs: number;
  readonly #parent: HealthViews | null;
  readonly #wall: () => number;
  readonly #region: string | null;
  /** Drains not yet finished, and the wake-ups of those waiting out a delay: for `settle()` only. */
  readonly #active = new Set<Promise<void>>();
  readonly #sleepers = new Set<() => void>();

  constructor(options: HealthViewsOptions = {}) {
    this.#reportDelayMs = options.reportDelayMs ?? REPORT_BATCH_DELAY_MS;
    this.#parent = options.parent ?? null;
    this.#wall = options.wallClock ?? (() => Date.now());
    this.#region = options.region ?? null;
  }

  /** The region whose shard these views sync with (null: the unsharded object). */
  get region(): string | null {
    return this.#region;
  }

  /**
   * The endpoint's target records as these views know them. Never waits; starts a background sync
   * when the view is older than `SNAPSHOT_TTL_MS` (or was never synced).
   */
  view(
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    ctx: HealthViewContext,
  ): Readonly<Record<string, TargetRecord>> {
    const view = this.#viewOf(endpoint.name);
    if (view.syncedAt === null || ctx.now() - view.syncedAt >= SNAPSHOT_TTL_MS) {
      this.#schedule(view, endpoint, policy, ctx, true);
    }
    return view.records;
  }

  /** Applies an outcome to the local view at once and reports it in the background. */
  report(endpoint: EndpointConfig, policy: HealthPolicy, outcome: Outcome, ctx: HealthViewContext): void {
    const view = this.#viewOf(endpoint.name);
    const before = stateOf(view.records[outcome.url], outcome.at);
    applyOutcomes(view.records, [outcome], policy, targetUrls(endpoint));
    view.pending.push(outcome);
    if (view.pending.length > MAX_PENDING_OUTCOMES) view.pending.shift();
    const urgent = stateOf(view.records[outcome.url], outcome.at) !== before;
    this.#schedule(view, endpoint, policy, ctx, urgent);
  }

  /** The endpoint's key records as these views know them (refreshed by the syncs `view()` starts). */
  keyRecords(endpoint: EndpointConfig): Readonly<Record<string, KeyRecord>> {
    return this.#viewOf(endpoint.name).keys;
  }

  /** Applies a key outcome to the local view at once and reports it with the endpoint's next sync. */
  reportKey(
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    outcome: KeyOutcome,
    ctx: HealthViewContext,
  ): void {
    const view = this.#viewOf(endpoint.name);
    const before = keyStateOf(view.keys[outcome.fingerprint], outcome.at, outcome.generation);
    applyKeyOutcomes(view.keys, [outcome]);
    view.pendingKeys.push(outcome);
    if (view.pendingKeys.length > MAX_PENDING_OUTCOMES) view.pendingKeys.shift();
    const urgent = keyStateOf(view.keys[outcome.fingerprint], outcome.at, outcome.generation) !== before;
    this.#schedule(view, endpoint, policy, ctx, urgent);
  }

  /**
   * Claims the one probe of a `probing` target from the endpoint's object, with this caller's own
   * RPC (carrying the queued outcomes unless another caller's sync is in flight). When the object
   * cannot be reached, the claim is decided locally.
   */
  async requestProbe(
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    url: string,
    ctx: HealthViewContext,
  ): Promise<boolean> {
    const view = this.#viewOf(endpoint.name);
    const response = await this.#ownExchange(view, endpoint, policy, ctx.env, ctx.now, url);
    // Outcomes queued while this caller held the sender role go out in its own background.
    if (hasPending(view)) this.#schedule(view, endpoint, policy, ctx, false);
    if (response) return response.probeClaimed;
    const record = view.records[url];
    return record !== undefined && claimProbe(record, ctx.now(), policy);
  }

  /** Reports queued outcomes with the caller's own RPCs and returns the object's records (`/health`). */
  async sync(
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    env: HealthEnv,
    now: () => number = Date.now,
  ): Promise<Record<string, TargetRecord>> {
    const view = this.#viewOf(endpoint.name);
    let response = await this.#ownExchange(view, endpoint, policy, env, now);
    for (let round = 1; response && round < MAX_SYNC_ROUNDS && hasPending(view); round++) {
      if (this.#liveSender(view)?.sending) break; // another caller's sync carries them
      response = await this.#ownExchange(view, endpoint, policy, env, now);
    }
    if (response) return response.records;
    throw new Error(`health state of endpoint ${endpoint.name} is unavailable`);
  }

  /**
   * Ends the batching delays and waits for every sync these views started. It resolves the timers and
   * awaits the promises of every caller of these views, so it is sound only when all of them share the
   * caller's context: a Durable Object that owns its views (one object's I/O is usable by all of its
   * requests), or a test driving `dispatch()` itself. Never call it on `isolateHealthViews` from
   * production code.
   */
  async settle(): Promise<void> {
    for (;;) {
      for (const wake of this.#sleepers) wake();
      if (this.#active.size === 0) return;
      await Promise.all([...this.#active]);
    }
  }

  /**
   * Forgets every view, as a fresh isolate would (tests): a sender still waiting ends without I/O, and
   * `settle()` no longer waits for syncs started before.
   */
  clear(): void {
    for (const view of this.#views.values()) view.sender = null;
    this.#views.clear();
    for (const wake of this.#sleepers) wake();
    this.#active.clear();
  }

  #viewOf(name: string): EndpointView {
    let view = this.#views.get(name);
    if (!view) {
      const seed = this.#parent === null ? undefined : this.#parent.#views.get(name);
      view = {
        records: seed ? structuredClone(seed.records) : {},
        syncedAt: seed?.syncedAt ?? null,
        pending: [],
        keys: seed ? structuredClone(seed.keys) : {},
        pendingKeys: [],
        sender: null,
      };
      this.#views.set(name, view);
    }
    return view;
  }

  /** The view's sender, unless there is none or it is presumed dead. */
  #liveSender(view: EndpointView): Sender | null {
    const sender = view.sender;
    if (sender === null || this.#wall() - sender.since >= SYNC_STALE_MS) return null;
    return sender;
  }

  #schedule(
    view: EndpointView,
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    ctx: HealthViewContext,
    urgent: boolean,
  ): void {
    const current = this.#liveSender(view);
    // In flight: its loop takes what was just queued. Waiting: its delay ends soon, unless this is urgent.
    if (current !== null && (current.sending || !urgent)) return;
    const delayMs = urgent ? 0 : (ctx.reportDelayMs ?? this.#reportDelayMs);
    const sender: Sender = { since: this.#wall(), sending: delayMs <= 0 };
    view.sender = sender;
    const run = this.#drain(view, sender, delayMs, endpoint, policy, ctx);
    this.#active.add(run);
    void run.then(() => this.#active.delete(run));
    try {
      ctx.waitUntil(run);
    } catch {
      // Outside any request context: the promise still runs, and it never rejects.
    }
  }

  /** The sender's work, entirely in the context of the caller that started it. Never rejects. */
  async #drain(
    view: EndpointView,
    sender: Sender,
    delayMs: number,
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    ctx: HealthViewContext,
  ): Promise<void> {
    try {
      if (delayMs > 0) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.#sleepers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, delayMs);
          this.#sleepers.add(wake);
        });
        if (view.sender !== sender) return; // an urgent caller took over and sent from its context
        sender.sending = true;
        sender.since = this.#wall();
      }
      for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
        const response = await this.#exchange(view, endpoint, policy, ctx.env, ctx.now, true);
        if (response === null || !hasPending(view) || view.sender !== sender) break;
      }
    } catch {
      // #exchange never throws; kept so that a bug here cannot become an unhandled rejection.
    } finally {
      if (view.sender === sender) view.sender = null;
    }
  }

  /**
   * One awaited RPC of the caller. It carries the queued outcomes when no other caller's sync is in
   * flight (taking the sender role meanwhile, so outcomes stay in order), otherwise none.
   */
  async #ownExchange(
    view: EndpointView,
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    env: HealthEnv,
    now: () => number,
    claim?: string,
  ): Promise<SyncResponse | null> {
    const current = this.#liveSender(view);
    if (current?.sending) return this.#exchange(view, endpoint, policy, env, now, false, claim);
    const sender: Sender = { since: this.#wall(), sending: true };
    view.sender = sender;
    try {
      return await this.#exchange(view, endpoint, policy, env, now, true, claim);
    } finally {
      if (view.sender === sender) view.sender = null;
    }
  }

  /** One `TargetHealth.sync` RPC with a stub made here, from the caller's `env`. Never throws. */
  async #exchange(
    view: EndpointView,
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    env: HealthEnv,
    now: () => number,
    carryOutcomes: boolean,
    claim?: string,
  ): Promise<SyncResponse | null> {
    const outcomes = carryOutcomes ? view.pending : [];
    const keyOutcomes = carryOutcomes ? view.pendingKeys : [];
    if (carryOutcomes) {
      view.pending = [];
      view.pendingKeys = [];
    }
    view.syncedAt = now();
    const targets = targetUrls(endpoint);
    try {
      const stub = env.TARGET_HEALTH.get(
        env.TARGET_HEALTH.idFromName(shardName(endpoint.name, this.#region)),
      );
      const response = (await stub.sync({
        endpoint: endpoint.name,
        ...(this.#region === null ? {} : { region: this.#region }),
        targets,
        policy,
        outcomes,
        ...(keyOutcomes.length > 0 ? { keyOutcomes } : {}),
        now: now(),
        ...(claim === undefined ? {} : { claimProbe: claim }),
      })) as SyncResponse;
      view.records = response.records;
      applyOutcomes(view.records, view.pending, policy, targets);
      view.keys = response.keys ?? {};
      applyKeyOutcomes(view.keys, view.pendingKeys);
      if (this.#parent !== null) this.#parent.#adopt(endpoint, policy, response, view.syncedAt);
      return response;
    } catch {
      // The object is unreachable: keep the local view and resend the outcomes with the next sync.
      if (carryOutcomes) {
        view.pending = outcomes.concat(view.pending).slice(-MAX_PENDING_OUTCOMES);
        view.pendingKeys = keyOutcomes.concat(view.pendingKeys).slice(-MAX_PENDING_OUTCOMES);
      }
      return null;
    }
  }

  /** Takes fresher records from a child's sync (data only: no I/O, no promise crosses over). */
  #adopt(
    endpoint: EndpointConfig,
    policy: HealthPolicy,
    response: SyncResponse,
    syncedAt: number | null,
  ): void {
    const view = this.#viewOf(endpoint.name);
    if (syncedAt === null || (view.syncedAt !== null && view.syncedAt > syncedAt)) return;
    view.records = structuredClone(response.records);
    applyOutcomes(view.records, view.pending, policy, targetUrls(endpoint));
    view.keys = structuredClone(response.keys ?? {});
    applyKeyOutcomes(view.keys, view.pendingKeys);
    view.syncedAt = syncedAt;
  }
}

/** The views of this isolate for the unsharded objects, shared by every Worker request (data only). */
export const isolateHealthViews = new HealthViews();
/** The isolate's views of each region's shards (an isolate normally sees one region). */
const regionalViews = new Map<string, HealthViews>();

/** The isolate's views for requests of `region` (`isolateHealthViews` for null: the unsharded objects). */
export function healthViewsFor(region: string | null): HealthViews {
  if (region === null) return isolateHealthViews;
  let views = regionalViews.get(region);
  if (!views) {
    views = new HealthViews({ region });
    regionalViews.set(region, views);
  }
  return views;
}

/** `healthViewsFor(region).sync()`: reports queued outcomes and returns the shard's records (`/health`). */
export function syncEndpoint(
  endpoint: EndpointConfig,
  policy: HealthPolicy,
  env: HealthEnv,
  now: () => number = Date.now,
  region: string | null = null,
): Promise<Record<string, TargetRecord>> {
  return healthViewsFor(region).sync(endpoint, policy, env, now);
}

/** `settle()` of every view of the isolate (tests). */
export async function settleHealthReports(): Promise<void> {
  await isolateHealthViews.settle();
  for (const views of regionalViews.values()) await views.settle();
}

/** `clear()` of every view of the isolate (tests). */
export function clearLocalHealthViews(): void {
  isolateHealthViews.clear();
  for (const views of regionalViews.values()) views.clear();
}

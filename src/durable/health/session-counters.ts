/**
 * Session counters for `/health` (DESIGN §7 `sessions`). The Gemini and WebSocket session objects
 * call `recordSessionEvent()`; `/health` reads them with `readSessionCounters()`.
 *
 * The counters live in one SQLite-backed object of the `TARGET_HEALTH` namespace, named
 * `SESSIONS_OBJECT_NAME`. That name contains a `/`, so it can never collide with an endpoint name
 * (endpoint names are single path segments).
 *
 * Events are queued per isolate and sent in batches: recording never blocks the caller, never
 * throws, and a failed send only loses counts (they are statistics, not state). Every send runs in
 * the context of a caller that recorded (or flushes), never chained onto another caller's promise.
 */
import type { TargetHealth } from "./target-health";

/** Name passed to `idFromName` for the one object that holds the session counters. */
export const SESSIONS_OBJECT_NAME = "/sessions";

/**
 * - `gemini.started`: a Gemini session began (active +1).
 * - `gemini.completed`: it delivered a complete stream, with or without continuations (active −1, completed +1).
 * - `gemini.failed`: it ended with an error signalled to the client (active −1, failed +1).
 * - `gemini.recovered`: once per session that was truncated and then recovered (recovered +1; send
 *   `gemini.completed` as well when it ends).
 * - `gemini.continuation`: once per continuation request sent upstream (continuations +1).
 * - `websocket.opened` / `websocket.closed`: a relay started (active +1) / ended for any reason
 *   (active −1, completed +1).
 * - `stream.*`: the `gemini.*` events for stream repair sessions (`StreamSession`).
 */
export type SessionEvent =
  | "gemini.started"
  | "gemini.completed"
  | "gemini.failed"
  | "gemini.recovered"
  | "gemini.continuation"
  | "websocket.opened"
  | "websocket.closed"
  | "stream.started"
  | "stream.completed"
  | "stream.failed"
  | "stream.recovered"
  | "stream.continuation";

export const SESSION_EVENTS: readonly SessionEvent[] = [
  "gemini.started",
  "gemini.completed",
  "gemini.failed",
  "gemini.recovered",
  "gemini.continuation",
  "websocket.opened",
  "websocket.closed",
  "stream.started",
  "stream.completed",
  "stream.failed",
  "stream.recovered",
  "stream.continuation",
];

export interface SessionCounters {
  gemini: { active: number; completed: number; recovered: number; continuations: number; failed: number };
  websocket: { active: number; completed: number };
  /** Stream repair sessions (OpenAI chat completions, Anthropic Messages): the same counters as `gemini`. */
  stream: { active: number; completed: number; recovered: number; continuations: number; failed: number };
}

export interface SessionCountersEnv {
  TARGET_HEALTH: DurableObjectNamespace<TargetHealth>;
}

/** Counter deltas keyed `<group>.<counter>`, e.g. `gemini.active`. */
export type CounterDeltas = Record<string, number>;

/** Maps one event to the counter deltas it causes. Pure. */
export function deltasFor(event: SessionEvent, count = 1): CounterDeltas {
  switch (event) {
    case "gemini.started":
      return { "gemini.active": count };
    case "gemini.completed":
      return { "gemini.active": -count, "gemini.completed": count };
    case "gemini.failed":
      return { "gemini.active": -count, "gemini.failed": count };
    case "gemini.recovered":
      return { "gemini.recovered": count };
    case "gemini.continuation":
      return { "gemini.continuations": count };
    case "websocket.opened":
      return { "websocket.active": count };
    case "websocket.closed":
      return { "websocket.active": -count, "websocket.completed": count };
    case "stream.started":
      return { "stream.active": count };
    case "stream.completed":
      return { "stream.active": -count, "stream.completed": count };
    case "stream.failed":
      return { "stream.active": -count, "stream.failed": count };
    case "stream.recovered":
      return { "stream.recovered": count };
    case "stream.continuation":
      return { "stream.continuations": count };
  }
}

/** Builds the `/health` `sessions` object from stored counter values. Pure. */
export function countersFrom(values: CounterDeltas): SessionCounters {
  // An object evicted mid-session never sends its end event, and a lost batch can drop one; `active`
  // is clamped so such drift never shows as a negative count.
  const v = (key: string): number => values[key] ?? 0;
  return {
    gemini: {
      active: Math.max(0, v("gemini.active")),
      completed: v("gemini.completed"),
      recovered: v("gemini.recovered"),
      continuations: v("gemini.continuations"),
      failed: v("gemini.failed"),
    },
    websocket: { active: Math.max(0, v("websocket.active")), completed: v("websocket.completed") },
    stream: {
      active: Math.max(0, v("stream.active")),
      completed: v("stream.completed"),
      recovered: v("stream.recovered"),
      continuations: v("stream.continuations"),
      failed: v("stream.failed"),
    },
  };
}

/** Wall time after which a send still marked in flight is presumed abandoned by a context that ended. */
export const SEND_STALE_MS = 15_000;
/** Sends one sender makes before it ends, so one caller's `waitUntil` is not held by others' events. */
export const MAX_SEND_ROUNDS = 8;

/*
 * Context safety (see `health-snapshot.ts`): workerd binds I/O to the request or Durable Object that
 * started it, so the isolate shares only DATA here: the queued deltas and who is sending. Every RPC
 * is made by a recording caller, in its own context, with a stub made from its own `env`, under its
 * own `waitUntil`; nobody awaits or chains a promise another caller created. Counters add up in any
 * order, so concurrent sends are harmless.
 */
let queued: CounterDeltas = {};
/** The caller whose send loop is in flight; others only queue while it is alive. */
let sender: { since: number } | null = null;

function addDeltas(event: SessionEvent, count: number): void {
  for (const [key, delta] of Object.entries(deltasFor(event, count))) {
    queued[key] = (queued[key] ?? 0) + delta;
  }
}

function takeQueued(): CounterDeltas | null {
  if (Object.keys(queued).length === 0) return null;
  const batch = queued;
  queued = {};
  return batch;
}

/** One RPC with a stub made here, from the caller's `env`. Never throws. */
async function sendBatch(env: SessionCountersEnv, batch: CounterDeltas): Promise<void> {
  try {
    const ns = env.TARGET_HEALTH;
    await ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).addSessionCounters(batch);
  } catch {
    // Statistics only: a failed send drops this batch rather than failing or retrying the session.
  }
}

async function drain(env: SessionCountersEnv, me: { since: number }): Promise<void> {
  try {
    for (let round = 0; round < MAX_SEND_ROUNDS; round++) {
      const batch = takeQueued();
      if (batch === null) break;
      await sendBatch(env, batch);
      if (sender !== me) break; // presumed dead and replaced: the new sender carries on
    }
  } finally {
    if (sender === me) sender = null;
  }
}

function passTo(waitUntil: (p: Promise<unknown>) => void, p: Promise<unknown>): void {
  try {
    waitUntil(p);
  } catch {
    // A caller outside any request context: the promise still runs; it never rejects.
  }
}

/**
 * Records one session event (or `count` of them). Never throws and never waits. When no send is in
 * flight, the caller starts one in its own context under `waitUntil` (pass `ctx.waitUntil.bind(ctx)`
 * from a Worker or a Durable Object); otherwise the event is only queued, and the in-flight send
 * carries it in its next round.
 */
export function recordSessionEvent(
  env: SessionCountersEnv,
  waitUntil: (p: Promise<unknown>) => void,
  event: SessionEvent,
  count = 1,
): void {
  addDeltas(event, count);
  if (sender !== null && Date.now() - sender.since < SEND_STALE_MS) return;
  const me = { since: Date.now() };
  sender = me;
  passTo(waitUntil, drain(env, me));
}

/**
 * Records events and sends them at once with the caller's own RPC (with whatever else is queued),
 * resolving when the counters object has them (or the send failed): for a caller that must not go on
 * before `/health` shows them. Never rejects.
 */
export function sendSessionEvents(
  env: SessionCountersEnv,
  waitUntil: (p: Promise<unknown>) => void,
  events: readonly SessionEvent[],
): Promise<void> {
  for (const event of events) addDeltas(event, 1);
  const batch = takeQueued();
  const sent = batch === null ? Promise.resolve() : sendBatch(env, batch);
  passTo(waitUntil, sent);
  return sent;
}

/**
 * Sends what is queued now with the caller's own RPCs (for `/health` and tests). Events already
 * taken by another caller's send in flight are not waited for: their acknowledgement belongs to that
 * caller's context.
 */
export async function flushSessionEvents(env: SessionCountersEnv): Promise<void> {
  for (let round = 0; round < MAX_SEND_ROUNDS; round++) {
    const batch = takeQueued();
    if (batch === null) return;
    await sendBatch(env, batch);
  }
}

/** Reads the counters for `/health`. */
export async function readSessionCounters(env: SessionCountersEnv): Promise<SessionCounters> {
  await flushSessionEvents(env);
  const ns = env.TARGET_HEALTH;
  return countersFrom(await ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).sessionCounters());
}

/** The endpoints whose `TargetHealth` objects have seen traffic (registered once each), by name. */
export async function readRegisteredEndpoints(env: SessionCountersEnv): Promise<string[]> {
  const ns = env.TARGET_HEALTH;
  return ns.get(ns.idFromName(SESSIONS_OBJECT_NAME)).registeredEndpoints();
}

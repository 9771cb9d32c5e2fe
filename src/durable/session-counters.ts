/**
 * Session counters for `/health` (DESIGN §7 `sessions`). The Gemini and WebSocket session objects
 * call `recordSessionEvent()`; `/health` reads them with `readSessionCounters()`.
 *
 * The counters live in one SQLite-backed object of the `TARGET_HEALTH` namespace, named
 * `SESSIONS_OBJECT_NAME`. That name contains a `/`, so it can never collide with an endpoint name
 * (endpoint names are single path segments).
 *
 * Events are queued per isolate and sent in batches: recording never blocks the caller, never
 * throws, and a failed send only loses counts (they are statistics, not state).
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
 */
export type SessionEvent =
  | "gemini.started"
  | "gemini.completed"
  | "gemini.failed"
  | "gemini.recovered"
  | "gemini.continuation"
  | "websocket.opened"
  | "websocket.closed";

export const SESSION_EVENTS: readonly SessionEvent[] = [
  "gemini.started",
  "gemini.completed",
  "gemini.failed",
  "gemini.recovered",
  "gemini.continuation",
  "websocket.opened",
  "websocket.closed",
];

export interface SessionCounters {
  gemini: { active: number; completed: number; recovered: number; continuations: number; failed: number };
  websocket: { active: number; completed: number };
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
  };
}

let queued: CounterDeltas = {};
let inFlight: Promise<void> | null = null;

function sessionsStub(env: SessionCountersEnv): DurableObjectStub<TargetHealth> {
  return env.TARGET_HEALTH.get(env.TARGET_HEALTH.idFromName(SESSIONS_OBJECT_NAME));
}

async function flush(env: SessionCountersEnv): Promise<void> {
  while (Object.keys(queued).length > 0) {
    const batch = queued;
    queued = {};
    try {
      await sessionsStub(env).addSessionCounters(batch);
    } catch {
      // Statistics only: a failed send drops this batch rather than failing or retrying the session.
    }
  }
}

/**
 * Records one session event (or `count` of them). Never throws and never waits: the send runs under
 * `waitUntil` (pass `ctx.waitUntil.bind(ctx)` from a Worker or a Durable Object). Events recorded
 * while a send is in flight go out in the next batch.
 */
export function recordSessionEvent(
  env: SessionCountersEnv,
  waitUntil: (p: Promise<unknown>) => void,
  event: SessionEvent,
  count = 1,
): void {
  for (const [key, delta] of Object.entries(deltasFor(event, count))) {
    queued[key] = (queued[key] ?? 0) + delta;
  }
  const previous = inFlight ?? Promise.resolve();
  const next = previous.then(() => flush(env));
  const tracked = next.finally(() => {
    if (inFlight === tracked) inFlight = null;
  });
  inFlight = tracked;
  try {
    waitUntil(tracked);
  } catch {
    // A caller outside any request context: the promise still runs; it never rejects.
  }
}

/** Waits until every queued session event has been sent (for `/health` and tests). */
export async function flushSessionEvents(env: SessionCountersEnv): Promise<void> {
  if (inFlight) await inFlight;
  await flush(env);
}

/** Reads the counters for `/health`. */
export async function readSessionCounters(env: SessionCountersEnv): Promise<SessionCounters> {
  await flushSessionEvents(env);
  return countersFrom(await sessionsStub(env).sessionCounters());
}

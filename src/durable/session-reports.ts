/**
 * The end of a session object's life that both kinds share (`GeminiSession`, `StreamSession`): how long its events
 * stay for re-attach, and the bounded wait for its final reports.
 */
import type { HealthViews } from "./health/health-snapshot";
import { type SessionCountersEnv, type SessionEvent, sendSessionEvents } from "./health/session-counters";
import { sessionClock, settleWithin } from "./session-lifecycle";

/**
 * How long a session's events stay available for re-attach before the object deletes them. The deletion alarm is
 * set before the session stores anything and pushed out while the generation runs, so a session that stops without
 * finishing (eviction, deploy, crash) is still deleted at most this long after it last ran.
 */
export const SESSION_RETENTION_MS = 10 * 60_000;

/**
 * Sends a session's final counter events and waits (bounded) for them and for the health reports of the views the
 * session owns. Both are the object's own I/O. Never throws: counters are statistics, not state.
 */
export function settleSessionReports(
  env: SessionCountersEnv,
  waitUntil: (p: Promise<unknown>) => void,
  views: HealthViews,
  events: SessionEvent[],
): Promise<void> {
  return settleWithin(Promise.all([sendSessionEvents(env, waitUntil, events), views.settle()]), sessionClock);
}

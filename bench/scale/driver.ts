/**
 * The scale simulation's driver Worker (bench only, never deployed). It runs in the same workerd as
 * the gateway and binds the gateway's real `TargetHealth` class, then plays many isolates' syncs
 * against ONE endpoint's object the way `health-snapshot.ts` sends them:
 *
 * - `GET /open?isolates=N&durationMs=D&cycleMs=C&outcomes=K`: N simulated isolates, each sending one
 *   sync of K outcomes per cycle (the batching delay plus its own round trip, as a busy isolate does),
 *   offset at random. Reports syncs/s achieved against offered and the sync latency percentiles.
 * - `GET /closed?concurrency=C&durationMs=D&outcomes=K`: C callers back to back, the object's ceiling.
 */
import { type HealthPolicy, type Outcome, resolveHealthPolicy } from "../../src/durable/health/health-policy";
import type { TargetHealth } from "../../src/durable/health/target-health";

interface DriverEnv {
  TARGET_HEALTH: DurableObjectNamespace<TargetHealth>;
}

const TARGETS = ["https://a.example", "https://b.example", "https://c.example"];
const POLICY: HealthPolicy = resolveHealthPolicy(undefined, "scale-sim");

function outcomes(k: number, now: number): Outcome[] {
  return Array.from({ length: k }, (_, i) => ({
    url: TARGETS[i % TARGETS.length] as string,
    at: now,
    kind: "success",
    status: 200,
    latencyMs: 200 + (i % 50),
  }));
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function play(
  env: DriverEnv,
  endpoint: string,
  callers: number,
  durationMs: number,
  pauseMs: (first: boolean) => number,
  k: number,
): Promise<Response> {
  const stub = () => env.TARGET_HEALTH.get(env.TARGET_HEALTH.idFromName(endpoint));
  const latencies: number[] = [];
  let errors = 0;
  const started = Date.now();
  const deadline = started + durationMs;
  const caller = async () => {
    let first = true;
    while (true) {
      const pause = pauseMs(first);
      first = false;
      if (pause > 0) await sleep(pause);
      if (Date.now() >= deadline) return;
      const sentAt = Date.now();
      try {
        await stub().sync({ targets: TARGETS, policy: POLICY, outcomes: outcomes(k, sentAt), endpoint });
        latencies.push(Date.now() - sentAt);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const elapsedS = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return Response.json({
    callers,
    syncs: latencies.length,
    errors,
    elapsed_s: elapsedS,
    syncs_per_s: latencies.length / elapsedS,
    outcomes_per_s: (latencies.length * k) / elapsedS,
    latency_ms: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? null,
    },
  });
}

export default {
  async fetch(request: Request, env: DriverEnv): Promise<Response> {
    const url = new URL(request.url);
    const num = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    const endpoint = url.searchParams.get("endpoint") ?? "scale-sim";
    const durationMs = num("durationMs", 3000);
    const k = num("outcomes", 1);
    if (url.pathname === "/open") {
      const cycleMs = num("cycleMs", 250);
      // Isolates start at random offsets within one cycle, then keep their own rhythm.
      return play(
        env,
        endpoint,
        num("isolates", 1),
        durationMs,
        (first) => (first ? Math.random() * cycleMs : cycleMs),
        k,
      );
    }
    if (url.pathname === "/closed") {
      return play(env, endpoint, num("concurrency", 1), durationMs, () => 0, k);
    }
    return new Response("not found", { status: 404 });
  },
};

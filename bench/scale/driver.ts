/**
 * The scale simulation's driver Worker (bench only, never deployed). It runs in the same workerd as
 * the gateway and binds the gateway's real `TargetHealth` class, then plays many isolates' syncs
 * against ONE endpoint's object the way `health-snapshot.ts` sends them:
 *
 * - `GET /open?isolates=N&durationMs=D&cycleMs=C&outcomes=K`: N simulated isolates, each sending one
 *   sync of K outcomes per cycle (the batching delay plus its own round trip, as a busy isolate does),
 *   offset at random. Reports syncs/s achieved against offered and the sync latency percentiles.
 * - `GET /closed?concurrency=C&durationMs=D&outcomes=K`: C callers back to back, the object's ceiling.
 *   `writeThrough=1` makes the object write every changed record at once (the behaviour before routine
 *   statistics were written behind), for the comparison in the same run.
 * - `GET /sharded?shards=S&concurrency=C&durationMs=D&outcomes=K`: C callers back to back on each of S
 *   regional shards of the endpoint (`<endpoint>#R<i>`) at once: what sharding adds on this machine.
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

interface Play {
  endpoint: string;
  callers: number;
  durationMs: number;
  pauseMs: (first: boolean) => number;
  k: number;
  writeThrough?: boolean;
  /** Regional shards to spread the callers over (caller i syncs with shard i mod shards); 0: the unsharded object. */
  shards?: number;
}

async function play(env: DriverEnv, p: Play): Promise<Response> {
  const { endpoint, callers, durationMs, pauseMs, k } = p;
  const shards = p.shards ?? 0;
  const nameOf = (i: number) => (shards > 0 ? `${endpoint}#R${i % shards}` : endpoint);
  const stub = (i: number) => env.TARGET_HEALTH.get(env.TARGET_HEALTH.idFromName(nameOf(i)));
  const latencies: number[] = [];
  let errors = 0;
  const started = Date.now();
  const deadline = started + durationMs;
  const caller = async (_: unknown, i: number) => {
    let first = true;
    while (true) {
      const pause = pauseMs(first);
      first = false;
      if (pause > 0) await sleep(pause);
      if (Date.now() >= deadline) return;
      const sentAt = Date.now();
      try {
        await stub(i).sync({
          targets: TARGETS,
          policy: POLICY,
          outcomes: outcomes(k, sentAt),
          endpoint,
          ...(shards > 0 ? { region: `R${i % shards}` } : {}),
          ...(p.writeThrough ? { writeThrough: true } : {}),
        });
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
    shards: Math.max(1, shards),
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
      return play(env, {
        endpoint,
        callers: num("isolates", 1),
        durationMs,
        pauseMs: (first) => (first ? Math.random() * cycleMs : cycleMs),
        k,
      });
    }
    const writeThrough = url.searchParams.get("writeThrough") === "1";
    if (url.pathname === "/closed") {
      return play(env, {
        endpoint,
        callers: num("concurrency", 1),
        durationMs,
        pauseMs: () => 0,
        k,
        writeThrough,
      });
    }
    if (url.pathname === "/sharded") {
      const shards = Math.max(1, num("shards", 1));
      const callers = shards * num("concurrency", 1);
      return play(env, { endpoint, callers, durationMs, pauseMs: () => 0, k, writeThrough, shards });
    }
    return new Response("not found", { status: 404 });
  },
};

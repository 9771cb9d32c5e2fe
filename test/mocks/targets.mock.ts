/**
 * Scriptable upstream targets for the multi-target health tests (issue 4), over `scripted-targets.ts` (control API,
 * scenarios, observations).
 *
 * Four HTTP targets (`targets.t1` … `targets.t4` in `mockPorts`) share one behaviour table, plus
 * `targets.dead`: a port that was opened and closed again, so connecting to it is refused. A target without a
 * script answers 200 with a small JSON body naming it.
 */
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import type { RunningMock } from "./global-setup";
import { startScriptedTargets, type TargetRequest } from "./scripted-targets";

export interface TargetBehaviour {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface TargetScript {
  /** Answers used first, one per request, in order. */
  queue?: TargetBehaviour[];
  /** The answer once the queue is empty (default: 200 with a small JSON body naming the target). */
  fallback?: TargetBehaviour;
}

export interface TargetObservation {
  requests: number;
  statuses: Record<string, number>;
  /** Request bodies as UTF-8 (the first 1 KiB of each, at most 50 kept). */
  bodies: string[];
  /** Request paths as received, including the scenario segment. */
  paths: string[];
}

export const TARGET_NAMES = ["t1", "t2", "t3", "t4"] as const;

async function answer({
  name,
  path,
  body,
  next,
  observation: obs,
  res,
}: TargetRequest<TargetBehaviour, TargetObservation>): Promise<void> {
  const behaviour: TargetBehaviour = next ?? { status: 200, body: JSON.stringify({ target: name }) };
  obs.requests += 1;
  obs.statuses[String(behaviour.status)] = (obs.statuses[String(behaviour.status)] ?? 0) + 1;
  if (obs.bodies.length < 50) obs.bodies.push(body.subarray(0, 1024).toString("utf8"));
  if (obs.paths.length < 50) obs.paths.push(path);
  if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
  if (res.destroyed) return;
  res.writeHead(behaviour.status, {
    "content-type": "application/json",
    "x-mock-target": name,
    ...behaviour.headers,
  });
  res.end(behaviour.body ?? JSON.stringify({ target: name, status: behaviour.status }));
}

/** A port on 127.0.0.1 that refuses connections: bound once, then released. */
async function deadPort(): Promise<number> {
  const server = createTcpServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function start(): Promise<RunningMock> {
  const mock = await startScriptedTargets<TargetBehaviour, TargetObservation>({
    names: TARGET_NAMES,
    newObservation: () => ({ requests: 0, statuses: {}, bodies: [], paths: [] }),
    answer,
  });
  mock.extraPorts = { ...mock.extraPorts, dead: await deadPort() };
  return mock;
}

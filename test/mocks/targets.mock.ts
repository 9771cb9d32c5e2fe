/**
 * Scriptable upstream targets for the multi-target health tests (issue 4).
 *
 * Four HTTP targets (`targets.t1` … `targets.t4` in `mockPorts`) share one behaviour table, plus
 * `targets.dead`: a port that was opened and closed again, so connecting to it is refused. The main
 * port is the control API. Every request carries a scenario id as its first path segment (tests use
 * `http://127.0.0.1:<port>/<scenario>` as the target base URL), so test files never share state.
 *
 * Control API (main port):
 * - `PUT /script/<scenario>/<target>` with a JSON `TargetScript`: how `target` answers;
 * - `GET /observed/<scenario>`: `{ "<target>": { requests, statuses: {"200": n}, bodies: [...] } }`;
 * - `DELETE /script/<scenario>`: forget the scenario.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import type { RunningMock } from "./global-setup";

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

const scripts = new Map<string, TargetScript>();
const observed = new Map<string, Record<string, TargetObservation>>();

function observationOf(scenario: string, target: string): TargetObservation {
  let byTarget = observed.get(scenario);
  if (!byTarget) {
    byTarget = {};
    observed.set(scenario, byTarget);
  }
  byTarget[target] ??= { requests: 0, statuses: {}, bodies: [], paths: [] };
  return byTarget[target];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function targetHandler(name: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const path = req.url ?? "/";
    const scenario = path.split("/")[1]?.split("?")[0] ?? "";
    const script = scripts.get(`${scenario}/${name}`);
    const behaviour: TargetBehaviour = script?.queue?.shift() ??
      script?.fallback ?? { status: 200, body: JSON.stringify({ target: name }) };
    const obs = observationOf(scenario, name);
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
  };
}

async function control(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const [, kind, scenario, target] = (req.url ?? "").split("/");
  const send = (status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  if (kind === "script" && scenario && target && req.method === "PUT") {
    scripts.set(`${scenario}/${target}`, JSON.parse(body.toString("utf8")) as TargetScript);
    return send(200, { ok: true });
  }
  if (kind === "script" && scenario && req.method === "DELETE") {
    for (const key of [...scripts.keys()]) if (key.startsWith(`${scenario}/`)) scripts.delete(key);
    observed.delete(scenario);
    return send(200, { ok: true });
  }
  if (kind === "observed" && scenario) return send(200, observed.get(scenario) ?? {});
  send(404, { error: "unknown control path" });
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
  const servers: Server[] = [];
  const extraPorts: Record<string, number> = {};
  const controlServer = createServer((req, res) => {
    control(req, res).catch(() => res.destroy());
  });
  servers.push(controlServer);
  const port = await listen(controlServer);
  for (const name of TARGET_NAMES) {
    const server = createServer((req, res) => {
      targetHandler(name)(req, res).catch(() => res.destroy());
    });
    servers.push(server);
    extraPorts[name] = await listen(server);
  }
  extraPorts.dead = await deadPort();
  return { port, extraPorts, close: async () => void (await Promise.all(servers.map(close))) };
}

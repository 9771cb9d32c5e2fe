/**
 * What the scripted upstream mocks share (`targets.mock.ts`: JSON answers for failover and health,
 * `sse-llm.mock.ts`: streams for the stream guard): one server per named target, a control server, scripts kept per
 * scenario and target, and what each target observed per scenario.
 *
 * Every request carries a scenario id as its first path segment (tests use `http://127.0.0.1:<port>/<scenario>` as the
 * target base URL), so test files never share state. Control API (the main port):
 * - `PUT /script/<scenario>/<target>` with the mock's script (JSON): how `target` answers;
 * - `GET /observed/<scenario>`: `{ "<target>": <observation> }`;
 * - `DELETE /script/<scenario>`: forget the scenario.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningMock } from "./global-setup";

/** A script: answers used first, one per request, in order; then the fallback for every later request. */
export interface Script<B> {
  queue?: B[];
  fallback?: B;
}

export interface TargetRequest<B, O> {
  name: string;
  /** The request's first path segment. */
  scenario: string;
  path: string;
  body: Buffer;
  /** The script's answer for this request, if it has one left. */
  next: B | undefined;
  /** This target's observation for the request's scenario, to fill in. */
  observation: O;
  req: IncomingMessage;
  res: ServerResponse;
}

export interface ScriptedTargetsOptions<B, O> {
  names: readonly string[];
  newObservation: () => O;
  answer: (request: TargetRequest<B, O>) => Promise<void>;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function listen(server: Server): Promise<number> {
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

/** Starts the control server and one server per target name; `extraPorts` maps each name to its port. */
export async function startScriptedTargets<B, O>(
  options: ScriptedTargetsOptions<B, O>,
): Promise<RunningMock> {
  const scripts = new Map<string, Script<B>>();
  const observed = new Map<string, Record<string, O>>();

  const observationOf = (scenario: string, target: string): O => {
    let byTarget = observed.get(scenario);
    if (!byTarget) {
      byTarget = {};
      observed.set(scenario, byTarget);
    }
    byTarget[target] ??= options.newObservation();
    return byTarget[target];
  };

  const control = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const [, kind, scenario, target] = (req.url ?? "").split("/");
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (kind === "script" && scenario && target && req.method === "PUT") {
      scripts.set(`${scenario}/${target}`, JSON.parse(body.toString("utf8")) as Script<B>);
      return send(200, { ok: true });
    }
    if (kind === "script" && scenario && req.method === "DELETE") {
      for (const key of [...scripts.keys()]) if (key.startsWith(`${scenario}/`)) scripts.delete(key);
      observed.delete(scenario);
      return send(200, { ok: true });
    }
    if (kind === "observed" && scenario) return send(200, observed.get(scenario) ?? {});
    send(404, { error: "unknown control path" });
  };

  const target = (name: string) => async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const path = req.url ?? "/";
    const scenario = path.split("/")[1]?.split("?")[0] ?? "";
    const script = scripts.get(`${scenario}/${name}`);
    const next = script?.queue?.shift() ?? script?.fallback;
    await options.answer({
      name,
      scenario,
      path,
      body,
      next,
      observation: observationOf(scenario, name),
      req,
      res,
    });
  };

  const servers: Server[] = [];
  const serve = (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
    const server = createServer((req, res) => {
      handler(req, res).catch(() => res.destroy());
    });
    servers.push(server);
    return listen(server);
  };
  const port = await serve(control);
  const extraPorts: Record<string, number> = {};
  for (const name of options.names) extraPorts[name] = await serve(target(name));
  return { port, extraPorts, close: async () => void (await Promise.all(servers.map(close))) };
}

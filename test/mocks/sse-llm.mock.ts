/**
 * A scriptable OpenAI- and Anthropic-style streaming upstream for the stream guard tests (issue 12).
 *
 * Two targets (`sse-llm.a`, `sse-llm.b` in `mockPorts`) play scripts; the main port is the control API.
 * Every request carries a scenario id as its first path segment (tests use
 * `http://127.0.0.1:<port>/<scenario>` as the target base URL), so test files never share state. A
 * script says, step by step, what a target writes and how it ends: cleanly, cut (FIN mid-body), reset
 * (RST) or stalled (see `sse-llm-script.ts`).
 *
 * Control API (main port):
 * - `PUT /script/<scenario>/<target>` with an `SseScript`;
 * - `GET /observed/<scenario>`: `{ "<target>": SseObservation }`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningMock } from "./global-setup";
import { type Play, SSE_TARGETS, type SseObservation, type SseScript } from "./sse-llm-script";

const scripts = new Map<string, SseScript>();
const observed = new Map<string, Record<string, SseObservation>>();

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function observe(scenario: string, target: string, path: string, body: Buffer): void {
  let byTarget = observed.get(scenario);
  if (!byTarget) {
    byTarget = {};
    observed.set(scenario, byTarget);
  }
  byTarget[target] ??= { requests: 0, bodies: [], paths: [] };
  const obs = byTarget[target];
  obs.requests += 1;
  if (obs.bodies.length < 20) obs.bodies.push(body.toString("utf8"));
  if (obs.paths.length < 20) obs.paths.push(path);
}

async function play(res: ServerResponse, req: IncomingMessage, script: Play): Promise<void> {
  res.writeHead(script.status ?? 200, script.headers ?? {});
  res.flushHeaders();
  for (const step of script.steps) {
    if (res.destroyed) return;
    if ("write" in step) res.write(step.write);
    else if ("hex" in step) res.write(Buffer.from(step.hex, "hex"));
    else if ("delayMs" in step) await new Promise((r) => setTimeout(r, step.delayMs));
    else if ("end" in step) {
      res.end();
      return;
    } else if ("destroy" in step) {
      res.socket?.destroy();
      return;
    } else if ("reset" in step) {
      res.socket?.resetAndDestroy();
      return;
    } else if ("stall" in step) {
      await new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
      return;
    }
  }
  res.end();
}

function targetHandler(name: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const path = req.url ?? "/";
    const scenario = path.split("/")[1]?.split("?")[0] ?? "";
    observe(scenario, name, path, body);
    const script = scripts.get(`${scenario}/${name}`);
    const next = script?.queue?.shift() ?? script?.fallback;
    if (!next) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `no script for ${scenario}/${name}` } }));
      return;
    }
    await play(res, req, next);
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
    scripts.set(`${scenario}/${target}`, JSON.parse(body.toString("utf8")) as SseScript);
    return send(200, { ok: true });
  }
  if (kind === "observed" && scenario) return send(200, observed.get(scenario) ?? {});
  send(404, { error: "unknown control path" });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

export async function start(): Promise<RunningMock> {
  const servers: Server[] = [];
  const controlServer = createServer((req, res) => {
    control(req, res).catch(() => res.destroy());
  });
  servers.push(controlServer);
  const port = await listen(controlServer);
  const extraPorts: Record<string, number> = {};
  for (const name of SSE_TARGETS) {
    const server = createServer((req, res) => {
      targetHandler(name)(req, res).catch(() => res.destroy());
    });
    servers.push(server);
    extraPorts[name] = await listen(server);
  }
  return {
    port,
    extraPorts,
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}

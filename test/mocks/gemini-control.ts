/**
 * The Gemini mock's control API (`/__scenarios…`, documented in `gemini-mock-README.md`) and the small HTTP
 * helpers the mock shares with it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ScenarioValidationError, validateScenario } from "./gemini-scenario";
import type { ScenarioStore } from "./gemini-store";

/** Longest a control-API wait may last. */
const MAX_WAIT_MS = 30_000;
const DEFAULT_WAIT_MS = 5_000;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
  res.end(text);
}

export function googleErr(res: ServerResponse, code: number, status: string, message: string): void {
  sendJson(res, code, { error: { code, message, status } });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function handleControl(
  store: ScenarioStore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
): Promise<void> {
  const params = new URLSearchParams(query);
  if (path === "/__scenarios" && req.method === "POST") {
    try {
      const spec = validateScenario(JSON.parse(await readBody(req)));
      const s = store.add(spec);
      return sendJson(res, 201, { id: s.id, model: s.id });
    } catch (e) {
      const msg = e instanceof ScenarioValidationError || e instanceof SyntaxError ? e.message : String(e);
      return sendJson(res, 400, { error: { code: 400, status: "INVALID_ARGUMENT", message: msg } });
    }
  }
  const m = /^\/__scenarios\/([^/]+)(\/requests|\/release)?$/.exec(path);
  const s = m ? store.get(m[1] ?? "") : undefined;
  if (!m || !s)
    return sendJson(res, 404, { error: { code: 404, status: "NOT_FOUND", message: "no such scenario" } });
  if (m[2] === "/release" && req.method === "POST") {
    s.releases += Number(params.get("count") ?? "1");
    store.notify(s);
    return sendJson(res, 200, { releases: s.releases });
  }
  if (m[2] === "/requests" && req.method === "GET") {
    const min = Number(params.get("min") ?? "0");
    const ended = params.get("ended") === "1" || params.get("ended") === "true";
    const timeoutMs = Math.min(Number(params.get("timeoutMs") ?? DEFAULT_WAIT_MS), MAX_WAIT_MS);
    const ok = await store.waitFor(
      s,
      () => s.requests.length >= min && (!ended || s.requests.every((x) => x.end !== null)),
      timeoutMs,
    );
    return sendJson(res, 200, { requests: s.requests, timedOut: !ok });
  }
  if (m[2] === undefined && req.method === "GET") {
    return sendJson(res, 200, {
      id: s.id,
      spec: s.spec,
      attempts: s.generationAttempts,
      requests: s.requests.length,
    });
  }
  if (m[2] === undefined && req.method === "DELETE") {
    store.delete(s.id);
    return sendJson(res, 200, { deleted: s.id });
  }
  return sendJson(res, 405, {
    error: { code: 405, status: "INVALID_ARGUMENT", message: "method not allowed" },
  });
}

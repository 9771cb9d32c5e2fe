/**
 * A provider with several API keys (issue 14), for the key-pool tests. It reads the key the way
 * providers do (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key`, `?key=`) and answers per
 * key as scripted. Every request path starts with a scenario id (tests use
 * `http://127.0.0.1:<port>/<scenario>` as the target), so test files never share state.
 *
 * Control API (same port, `/__control/…`):
 * - `PUT /__control/script/<scenario>` with `{ "keys": { "<key>": KeyBehaviour } }`; a key not in
 *   the script is answered as invalid (401);
 * - `GET /__control/observed/<scenario>`: `{ requests, byKey: {"<id>": n}, credentials: [...] }`,
 *   where `credentials` lists, per request, every credential-bearing header and query value seen.
 *
 * Answers: success is 200 `{"ok":true,"key":"<id>"}` with `x-mock-key: <id>` (the key's id from the
 * script, never the key); the errors are each provider's real shapes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { RunningMock } from "./global-setup";
import { listenOnLoopback } from "./listen";

export type KeyBehaviour =
  | { id: string; mode: "ok" }
  /** The first `times` requests (all when absent) answer 429 with the delay in the given style. */
  | {
      id: string;
      mode: "rate_limit";
      style: "retry-after" | "retry-after-date" | "retry-after-ms" | "gemini";
      delaySeconds: number;
      times?: number;
    }
  | { id: string; mode: "invalid"; style: "401" | "gemini" }
  | { id: string; mode: "quota"; style: "402" | "openai" | "gemini-daily" };

export interface KeysObservation {
  requests: number;
  byKey: Record<string, number>;
  credentials: string[][];
}

interface Scenario {
  keys: Record<string, KeyBehaviour>;
  observed: KeysObservation;
  /** Requests answered so far per key. */
  served: Record<string, number>;
}

const scenarios = new Map<string, Scenario>();

function scenarioOf(name: string): Scenario {
  let s = scenarios.get(name);
  if (!s) {
    s = { keys: {}, observed: { requests: 0, byKey: {}, credentials: [] }, served: {} };
    scenarios.set(name, s);
  }
  return s;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): undefined {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** The key of a request, in the order providers document, and every credential it carried. */
function credentialsOf(req: IncomingMessage, url: URL): { key: string | null; seen: string[] } {
  const seen: string[] = [];
  const auth = req.headers.authorization;
  const xApiKey = req.headers["x-api-key"];
  const goog = req.headers["x-goog-api-key"];
  const query = url.searchParams.getAll("key");
  if (auth) seen.push(`authorization: ${auth}`);
  if (typeof xApiKey === "string") seen.push(`x-api-key: ${xApiKey}`);
  if (typeof goog === "string") seen.push(`x-goog-api-key: ${goog}`);
  for (const q of query) seen.push(`?key=${q}`);
  const bearer = auth?.startsWith("Bearer ") ? auth.slice(7) : null;
  const key =
    bearer ??
    (typeof xApiKey === "string" ? xApiKey : null) ??
    (typeof goog === "string" ? goog : null) ??
    query[0] ??
    null;
  return { key, seen };
}

function answer(res: ServerResponse, behaviour: KeyBehaviour | undefined, served: number): undefined {
  if (!behaviour) {
    json(res, 401, {
      error: {
        message: "Incorrect API key provided.",
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    });
    return;
  }
  const ok = () => json(res, 200, { ok: true, key: behaviour.id }, { "x-mock-key": behaviour.id });
  switch (behaviour.mode) {
    case "ok":
      return ok();
    case "rate_limit": {
      if (behaviour.times !== undefined && served > behaviour.times) return ok();
      const s = behaviour.delaySeconds;
      const message = {
        error: {
          code: 429,
          message: "Resource has been exhausted (e.g. check quota).",
          status: "RESOURCE_EXHAUSTED",
        },
      };
      if (behaviour.style === "retry-after") return json(res, 429, message, { "retry-after": String(s) });
      if (behaviour.style === "retry-after-ms")
        return json(res, 429, message, { "retry-after-ms": String(s * 1000) });
      if (behaviour.style === "retry-after-date") {
        return json(res, 429, message, { "retry-after": new Date(Date.now() + s * 1000).toUTCString() });
      }
      return json(res, 429, {
        error: {
          ...message.error,
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.QuotaFailure",
              violations: [
                {
                  quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                  quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                },
              ],
            },
            { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${s}s` },
          ],
        },
      });
    }
    case "invalid":
      if (behaviour.style === "401")
        return json(res, 401, { error: { message: "invalid x-api-key", type: "authentication_error" } });
      return json(res, 400, {
        error: {
          code: 400,
          message: "API key not valid. Please pass a valid API key.",
          status: "INVALID_ARGUMENT",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "API_KEY_INVALID",
              domain: "googleapis.com",
            },
          ],
        },
      });
    case "quota":
      if (behaviour.style === "402")
        return json(res, 402, { error: { message: "Payment required: credits exhausted" } });
      if (behaviour.style === "openai") {
        return json(res, 429, {
          error: {
            message: "You exceeded your current quota.",
            type: "insufficient_quota",
            code: "insufficient_quota",
          },
        });
      }
      return json(res, 429, {
        error: {
          code: 429,
          status: "RESOURCE_EXHAUSTED",
          message: "You exceeded your current quota.",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.QuotaFailure",
              violations: [{ quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }],
            },
          ],
        },
      });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
  const url = new URL(req.url ?? "/", "http://mock");
  const parts = url.pathname.split("/");
  if (parts[1] === "__control") {
    const scenario = scenarioOf(parts[3] ?? "");
    if (req.method === "PUT" && parts[2] === "script") {
      scenario.keys = (JSON.parse(await readBody(req)) as { keys: Record<string, KeyBehaviour> }).keys;
      return json(res, 200, { ok: true });
    }
    if (parts[2] === "observed") return json(res, 200, scenario.observed);
    return json(res, 404, { error: "unknown control path" });
  }
  await readBody(req);
  const scenario = scenarioOf(parts[1] ?? "");
  const { key, seen } = credentialsOf(req, url);
  const behaviour = key === null ? undefined : scenario.keys[key];
  const id = behaviour?.id ?? "unknown";
  scenario.observed.requests += 1;
  scenario.observed.byKey[id] = (scenario.observed.byKey[id] ?? 0) + 1;
  scenario.observed.credentials.push(seen);
  const served = (scenario.served[id] ?? 0) + 1;
  scenario.served[id] = served;
  answer(res, behaviour, served);
}

export function start(): Promise<RunningMock> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  return listenOnLoopback(server);
}

/**
 * Mock upstream targets for the dashboard browser test, and a `/health` fixture in the DESIGN §7 shape.
 *
 * - healthy: answers every request with 200 JSON;
 * - rate-limited: answers 429 with `Retry-After`, as providers do when a key's quota is spent;
 * - dead: a port that was free a moment ago and has no listener, so connecting is refused.
 */
import { createServer } from "node:http";
import { freePort } from "../support/wrangler-dev.ts";

export const RETRY_AFTER_S = 300;

function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function drain(request) {
  return new Promise((resolve) => {
    request.on("data", () => {});
    request.on("end", resolve);
  });
}

export async function startTargets() {
  let served = 0;
  const healthy = await listen(async (request, response) => {
    await drain(request);
    served++;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ ok: true, path: request.url }));
  });
  const limited = await listen(async (request, response) => {
    await drain(request);
    response.writeHead(429, { "content-type": "application/json", "retry-after": String(RETRY_AFTER_S) });
    response.end(JSON.stringify({ error: { message: "rate limited by the mock", type: "rate_limit" } }));
  });
  const dead = { url: `http://127.0.0.1:${await freePort()}` };
  return {
    healthy: healthy.url,
    limited: limited.url,
    dead: dead.url,
    served: () => served,
    close: async () => {
      await Promise.all([healthy.close(), limited.close()]);
    },
  };
}

/** A `/health` body with one target in each interesting state, `now` fixing every timestamp. */
export function healthFixture(now, urls) {
  const at = (offsetS) => new Date(now + offsetS * 1000).toISOString();
  const target = (url, weight, fields) => ({
    url,
    weight,
    requests: 0,
    successes: 0,
    failures: 0,
    consecutive_failures: 0,
    success_rate: null,
    latency_ms: { ewma: null, p50: null, p95: null },
    ejected_until: null,
    rate_limited_until: null,
    last_error: null,
    ...fields,
  });
  return {
    generated_at: at(0),
    endpoints: {
      pool: {
        targets: [
          target(urls.healthy, 2, {
            state: "healthy",
            requests: 120,
            successes: 118,
            failures: 2,
            success_rate: 0.983,
            latency_ms: { ewma: 41.5, p50: 38, p95: 90 },
          }),
          target(urls.dead, 1, {
            state: "ejected",
            requests: 9,
            failures: 9,
            consecutive_failures: 9,
            success_rate: 0,
            ejected_until: at(25),
            last_error: { kind: "connect", status: null, at: at(-3) },
          }),
          target(urls.limited, 1, {
            state: "rate_limited",
            requests: 6,
            failures: 6,
            success_rate: 0,
            latency_ms: { ewma: 3.2, p50: 3, p95: 5 },
            rate_limited_until: at(RETRY_AFTER_S),
            last_error: { kind: "rate_limited", status: 429, at: at(-1) },
          }),
        ],
        // A key pool (issue 14): keys by fingerprint only.
        keys: [
          {
            fingerprint: "3fa9c2d1",
            weight: 1,
            state: "ok",
            requests: 80,
            successes: 80,
            rate_limited_responses: 0,
            last_error: null,
            cooldown_until: null,
          },
          {
            fingerprint: "b70e44a8",
            weight: 2,
            state: "rate_limited",
            requests: 41,
            successes: 38,
            rate_limited_responses: 3,
            last_error: { kind: "rate_limited", status: 429, at: at(-4) },
            cooldown_until: at(40),
          },
          {
            fingerprint: "0c61de95",
            weight: 1,
            state: "invalid",
            requests: 1,
            successes: 0,
            rate_limited_responses: 0,
            last_error: { kind: "invalid", status: 401, at: at(-60) },
            cooldown_until: null,
          },
        ],
      },
      openai: { targets: [target(urls.healthy, 1, { state: "healthy" })] },
      // Every key cooled down before a target saw an answer: shown, not filed under "without traffic".
      cooled: {
        targets: [target(urls.healthy, 1, { state: "healthy" })],
        keys: [
          {
            fingerprint: "9d0e1f2a",
            weight: 1,
            state: "rate_limited",
            requests: 1,
            successes: 0,
            rate_limited_responses: 1,
            last_error: { kind: "rate_limited", status: 429, at: at(-1) },
            cooldown_until: at(30),
          },
        ],
      },
      // A pool whose secret is missing.
      nosecret: {
        targets: [target(urls.healthy, 1, { state: "healthy" })],
        keys: [],
        keys_error: "invalid configuration: NOSECRET_KEYS: the key pool secret is not set",
      },
      // A lone target failing every request: kept in service, reported failing (DESIGN §7).
      solo: {
        targets: [
          target(urls.dead, 1, {
            state: "failing",
            requests: 12,
            failures: 12,
            consecutive_failures: 12,
            success_rate: 0,
            failing_reason: "consecutive_failures",
            last_error: { kind: "http_5xx", status: 502, at: at(-2) },
          }),
        ],
      },
    },
    sessions: {
      gemini: { active: 1, completed: 40, recovered: 6, continuations: 9, failed: 0 },
      websocket: { active: 2, completed: 11 },
    },
  };
}

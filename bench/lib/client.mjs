/**
 * The bench's HTTP and WebSocket clients (node:http with keep-alive agents, `ws`). Every function
 * measures one thing and returns plain numbers in milliseconds or bytes.
 */
import { Agent, request as httpRequest } from "node:http";
import { WebSocket } from "ws";
import { nowMs } from "./stats.mjs";

/** A keep-alive agent; one per measured target so connection reuse is the same on every side. */
export const keepAliveAgent = (maxSockets) =>
  new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });

/**
 * One request; resolves when the whole response body has been read. `body` is a Buffer or a
 * `{ bytes }` request for a generated body of that size (streamed in 64 KiB writes).
 */
export function timedRequest(url, { agent, method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    let firstByteMs = null;
    const req = httpRequest(url, { agent, method, headers }, (res) => {
      let bytes = 0;
      let text = "";
      res.on("data", (chunk) => {
        if (firstByteMs === null) firstByteMs = nowMs() - started;
        bytes += chunk.length;
        if (text.length < 4096) text += chunk.toString("utf8");
      });
      res.on("end", () =>
        resolve({
          ms: nowMs() - started,
          firstByteMs,
          status: res.statusCode,
          headers: res.headers,
          bytes,
          text,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else void writeGenerated(req, body.bytes);
  });
}

/**
 * POSTs a JSON `body` and reads the answer as UTF-8 text as it streams: `onChunk(text, elapsedMs)` sees each chunk on
 * arrival (SSE timings are taken there). Resolves with the status, the response headers and the total time.
 */
export function postStream(url, body, { agent, onChunk = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const req = httpRequest(url, { agent, method: "POST", headers }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk) => onChunk(chunk, nowMs() - started));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, totalMs: nowMs() - started }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function writeGenerated(req, total) {
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  let sent = 0;
  while (sent < total) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise((r) => req.once("drain", r));
    }
  }
  req.end();
}

/** Reads an SSE response and returns the arrival time of every `data:` event (ms after the request). */
export function sseArrivals(url, { agent, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const req = httpRequest(url, { agent, headers }, (res) => {
      const arrivals = [];
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        const at = nowMs() - started;
        buffer += chunk;
        let cut = buffer.indexOf("\n\n");
        while (cut >= 0) {
          if (buffer.startsWith("data:")) arrivals.push(at);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf("\n\n");
        }
      });
      res.on("end", () => resolve({ status: res.statusCode, arrivals }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const is2xx = (res) => res.status >= 200 && res.status < 300;

/**
 * Closed-loop load: `concurrency` workers each send requests back to back for `durationMs`.
 * `request` holds the method, headers and body of each request; `isAnswer(res)` says whether a response
 * counts as done (by default any 2xx). Returns completed requests per second and the count of other
 * answers or errors.
 */
export async function closedLoop(url, { concurrency, durationMs, agent, request = {}, isAnswer = is2xx }) {
  const started = nowMs();
  const deadline = started + durationMs;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (nowMs() < deadline) {
      try {
        const res = await timedRequest(url, { agent, ...request });
        if (isAnswer(res)) done++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (nowMs() - started) / 1000;
  return { rps: done / elapsedS, done, failed };
}

/** Opens a WebSocket and resolves when it is open. */
export function openWebSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) =>
      reject(new Error(`WebSocket upgrade answered ${res.statusCode}`)),
    );
  });
}

/** Round-trip times of `count` sequential text messages on an open echo socket. */
export async function wsRoundTrips(ws, count, payload = "x".repeat(64)) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = nowMs();
    await new Promise((resolve, reject) => {
      const onMessage = () => {
        ws.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        ws.off("message", onMessage);
        reject(new Error("WebSocket closed during the round trip"));
      };
      ws.once("message", onMessage);
      ws.once("close", onClose);
      ws.send(payload);
    });
    times.push(nowMs() - started);
  }
  return times;
}

/**
 * Upstream mocks for the bench, on 127.0.0.1. They do as little as possible, so the numbers measure the
 * gateway, not the mock:
 *
 * - `GET|POST /json` and any path under `/json/`: a small JSON answer, a chat completion (the request body,
 *   if any, is read and discarded). `POST /json/chat/completions` is the bench's small JSON request: an
 *   OpenAI-style route that the Portkey gateway can also be pointed at (its custom host `…/json`);
 * - `GET /sse?n=64&gapMs=20`: `n` SSE events in the OpenAI chunk shape, the first at once, then one
 *   every `gapMs` (each event is its own write);
 * - `POST /chat/completions` and `POST /chat/unguarded` (query as for `/sse`): the same events, then a
 *   finish chunk and `[DONE]`, a complete chat completions stream; only the first path is one the
 *   gateway's stream guard watches, so the two measure the guard against the plain pass-through. Each
 *   event carries `t`, the time the mock wrote it;
 * - `GET /blob?bytes=N`: N bytes in 64 KiB writes, honouring backpressure;
 * - `POST /sink`: reads the whole body and answers `{"bytes": n}`;
 * - a WebSocket echo server on its own port (any path).
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const SMALL_JSON = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});
const BLOB_CHUNK_BYTES = 64 * 1024;
const BLOB_CHUNK = Buffer.alloc(BLOB_CHUNK_BYTES, 0x61);

function sseEvent(i, stamped = false) {
  // `t`: when the mock wrote the event, in epoch ms (the client computes each event's latency from it).
  const t = stamped ? { t: performance.timeOrigin + performance.now() } : {};
  return `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", seq: i, ...t, choices: [{ index: 0, delta: { content: `tok${i} ` } }] })}\n\n`;
}

const FINISH_EVENT = `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`;

async function writeBlob(res, total) {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
  let sent = 0;
  while (sent < total) {
    const n = Math.min(BLOB_CHUNK_BYTES, total - sent);
    sent += n;
    if (!res.write(n === BLOB_CHUNK_BYTES ? BLOB_CHUNK : BLOB_CHUNK.subarray(0, n))) {
      await new Promise((r) => res.once("drain", r));
    }
  }
  res.end();
}

function handle(req, res) {
  const url = new URL(req.url, "http://mock");
  if (url.pathname.endsWith("/sink")) {
    let bytes = 0;
    req.on("data", (chunk) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ bytes }));
    });
    return;
  }
  req.resume();
  req.on("end", () => {
    const small = url.pathname === "/json" || url.pathname.startsWith("/json/");
    const chat =
      !small && (url.pathname.endsWith("/chat/completions") || url.pathname.endsWith("/chat/unguarded"));
    if (!small && (url.pathname.endsWith("/sse") || chat)) {
      const n = Number(url.searchParams.get("n") ?? 64);
      const gapMs = Number(url.searchParams.get("gapMs") ?? 20);
      const last = chat ? `${FINISH_EVENT}data: [DONE]\n\n` : "data: [DONE]\n\n";
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        res.write(sseEvent(i, chat));
        i++;
        if (i < n) setTimeout(tick, gapMs);
        else res.end(last);
      };
      tick();
    } else if (url.pathname.endsWith("/blob")) {
      void writeBlob(res, Number(url.searchParams.get("bytes") ?? 1024));
    } else {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(SMALL_JSON),
      });
      res.end(SMALL_JSON);
    }
  });
}

/** Starts the HTTP mock and the WebSocket echo; returns their ports and `close()`. */
export async function startBenchMocks() {
  const http = createServer(handle);
  http.keepAliveTimeout = 30_000;
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const wsHttp = createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  const wss = new WebSocketServer({ server: wsHttp });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise((r) => wsHttp.listen(0, "127.0.0.1", r));
  return {
    httpPort: http.address().port,
    wsPort: wsHttp.address().port,
    async close() {
      for (const client of wss.clients) client.terminate();
      http.closeAllConnections();
      wsHttp.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => wsHttp.close(r))]);
    },
  };
}

/**
 * The echo upstream: answers every request with a JSON report of exactly what it received, so tests
 * can see what the gateway forwarded (path and query byte for byte, header names and values, body).
 *
 * Query controls (read from the received URL, forwarded untouched by the gateway):
 * - `mock_status=503`: answer with that status (the report is still the body);
 * - `mock_delay_ms=50`: wait before answering;
 * - `mock_sse=5&mock_interval_ms=10`: answer with an SSE stream of that many events instead;
 * - `mock_header=name:value`: add a response header.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { RunningMock } from "./global-setup";
import { listenOnLoopback } from "./listen";

export interface EchoReport {
  method: string;
  /** The request target exactly as received. */
  url: string;
  /** Header pairs exactly as received (names lower-cased by Node). */
  headers: [string, string][];
  body_length: number;
  body_sha256: string;
  /** The body as UTF-8 when it is at most 64 KiB. */
  body: string | null;
}

const BODY_ECHO_LIMIT_BYTES = 64 * 1024;

function pairs(req: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    out.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
  }
  return out;
}

export async function start(): Promise<RunningMock> {
  const server = createServer(async (req, res) => {
    const hash = createHash("sha256");
    const kept: Buffer[] = [];
    let length = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
      if (length <= BODY_ECHO_LIMIT_BYTES) kept.push(chunk);
    }
    const url = new URL(req.url ?? "/", "http://mock");
    const report: EchoReport = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: pairs(req),
      body_length: length,
      body_sha256: hash.digest("hex"),
      body: length <= BODY_ECHO_LIMIT_BYTES ? Buffer.concat(kept).toString("utf8") : null,
    };
    const delay = Number(url.searchParams.get("mock_delay_ms") ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    for (const header of url.searchParams.getAll("mock_header")) {
      const colon = header.indexOf(":");
      res.setHeader(header.slice(0, colon), header.slice(colon + 1));
    }
    const events = Number(url.searchParams.get("mock_sse") ?? 0);
    if (events > 0) {
      const interval = Number(url.searchParams.get("mock_interval_ms") ?? 0);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (let i = 0; i < events; i++) {
        res.write(`data: ${JSON.stringify({ index: i })}\n\n`);
        if (interval > 0) await new Promise((r) => setTimeout(r, interval));
      }
      res.end("data: [DONE]\n\n");
      return;
    }
    const status = Number(url.searchParams.get("mock_status") ?? 200);
    res.writeHead(status, { "content-type": "application/json", "x-mock": "echo" });
    res.end(req.method === "HEAD" ? undefined : JSON.stringify(report));
  });
  return listenOnLoopback(server);
}

/**
 * The soak's upstreams (run in a child process through mock-process.mjs):
 *
 * - the project's Gemini mock (ground-truth model, scriptable cuts, resets, stalls, 429/5xx);
 * - four plain HTTP targets `t1`…`t4` of one multi-target endpoint, plus a dead port. Each request
 *   carries `x-soak-id` and `x-soak-plan` (comma-separated behaviours, one per arrival of that id at
 *   any target: `ok`, `429`, `500`, `502`, `503`, `reset`, `reset-after-body`, `cut`, `stall:<ms>[:<status>]`), so a
 *   request's fate is fixed by the client's seed whatever target the gateway picks. On top, the
 *   control API can open a 503 burst window on a target or kill a target (its port then refuses);
 * - a WebSocket server: `/s/<id>?n=<messages>&end=<close:CODE|reset|client>` echoes n messages, then
 *   closes with CODE (reason "soak <id>"), resets the TCP connection, or waits for the client to close.
 *
 * Control API (on `controlPort`): `GET /observed` → `{ plain: {id: [arrivalMs…]}, ws: {id: {...}} }`,
 * `POST /burst/<target>?ms=N`, `POST /kill/<target>`.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { startGeminiMock } from "./gemini-mock.mjs";
import { freePort } from "./workerd.mjs";

export const TARGETS = ["t1", "t2", "t3", "t4"];
const CHAOS_BODY = (status, message) =>
  JSON.stringify({ error: { code: status, message: `chaos: ${message}`, status: "CHAOS" }, chaos: true });

/** The body a healthy target answers for a request: also rebuilt by the client to verify it. */
export function okBody(target, id, requestSha256, padLength) {
  return JSON.stringify({ target, id, sha256: requestSha256, pad: "p".repeat(padLength) });
}

export async function startSoakMocks() {
  const gemini = await startGeminiMock();
  const arrivals = new Map();
  const wsLog = new Map();
  const bursts = new Map();
  const servers = new Map();
  const sockets = new Map(TARGETS.map((t) => [t, new Set()]));

  const targetHandler = (name) => (req, res) => {
    const id = String(req.headers["x-soak-id"] ?? "none");
    const plan = String(req.headers["x-soak-plan"] ?? "ok").split(",");
    const list = arrivals.get(id) ?? [];
    const inBurst = (bursts.get(name) ?? 0) > Date.now();
    const behaviour = inBurst ? "503" : (plan[list.length] ?? plan[plan.length - 1] ?? "ok");
    list.push({ at: Date.now(), target: name, behaviour });
    arrivals.set(id, list);
    if (behaviour === "reset") {
      req.socket.resetAndDestroy();
      return;
    }
    const hash = createHash("sha256");
    req.on("data", (chunk) => hash.update(chunk));
    req.on("error", () => {});
    req.on("end", () => {
      const sha = hash.digest("hex");
      const padLength = Number(req.headers["x-soak-pad"] ?? 0);
      const answer = () => {
        if (res.destroyed) return;
        const body = okBody(name, id, sha, padLength);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      };
      if (behaviour === "reset-after-body") req.socket.resetAndDestroy();
      else if (/^\d{3}$/.test(behaviour)) {
        const status = Number(behaviour);
        const headers = { "content-type": "application/json" };
        if (status === 429) headers["retry-after"] = "1";
        res.writeHead(status, headers);
        res.end(CHAOS_BODY(status, inBurst ? "burst" : behaviour));
      } else if (behaviour === "cut") {
        const body = okBody(name, id, sha, padLength + 4096);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.write(body.slice(0, 1024), () => req.socket.destroy());
      } else if (behaviour.startsWith("stall:")) {
        // `stall:<ms>` answers 200 after the pause, `stall:<ms>:<status>` that status (a failure the
        // gateway would fail over from, unless its client has left meanwhile).
        const [, ms, status] = behaviour.split(":");
        setTimeout(() => {
          if (status === undefined) return answer();
          if (res.destroyed) return;
          res.writeHead(Number(status), { "content-type": "application/json" });
          res.end(CHAOS_BODY(Number(status), behaviour));
        }, Number(ms));
      } else answer();
    });
  };

  for (const name of TARGETS) {
    const server = createServer(targetHandler(name));
    server.on("connection", (s) => {
      sockets.get(name).add(s);
      s.on("close", () => sockets.get(name).delete(s));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    servers.set(name, server);
  }

  const wsHttp = createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  const wss = new WebSocketServer({ server: wsHttp });
  wss.on("connection", (ws, req) => {
    const url = new URL(req.url, "http://mock");
    const id = url.pathname.split("/")[2] ?? "none";
    const n = Number(url.searchParams.get("n") ?? 10);
    const end = url.searchParams.get("end") ?? "client";
    const record = { opened: Date.now(), messages: 0, closeCode: null, closeReason: null, closedAt: null };
    wsLog.set(id, record);
    ws.on("message", (data, isBinary) => {
      record.messages++;
      ws.send(data, { binary: isBinary });
      if (record.messages === n) {
        if (end.startsWith("close:")) ws.close(Number(end.slice(6)), `soak ${id}`);
        else if (end === "reset") setTimeout(() => req.socket.resetAndDestroy(), 5);
      }
    });
    ws.on("close", (code, reason) => {
      record.closeCode = code;
      record.closeReason = reason.toString("utf8");
      record.closedAt = Date.now();
    });
    ws.on("error", () => {});
  });
  await new Promise((r) => wsHttp.listen(0, "127.0.0.1", r));

  const control = createServer((req, res) => {
    const url = new URL(req.url, "http://mock");
    const [, kind, target] = url.pathname.split("/");
    const send = (value) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (kind === "observed") {
      return send({ plain: Object.fromEntries(arrivals), ws: Object.fromEntries(wsLog) });
    }
    if (kind === "burst" && servers.has(target)) {
      bursts.set(target, Date.now() + Number(url.searchParams.get("ms") ?? 2000));
      return send({ ok: true });
    }
    if (kind === "kill" && servers.has(target)) {
      servers.get(target).close();
      for (const s of sockets.get(target)) s.resetAndDestroy();
      return send({ ok: true });
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => control.listen(0, "127.0.0.1", r));

  return {
    geminiPort: gemini.port,
    controlPort: control.address().port,
    wsPort: wsHttp.address().port,
    targetPorts: Object.fromEntries(TARGETS.map((t) => [t, servers.get(t).address().port])),
    deadPort: await freePort(),
    async close() {
      for (const client of wss.clients) client.terminate();
      for (const server of [...servers.values(), wsHttp, control]) {
        server.closeAllConnections?.();
        server.close();
      }
      await gemini.close();
    },
  };
}

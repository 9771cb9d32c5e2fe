/**
 * `node bench/handshake.mjs [--quick]` (issue 13 item 6): what a TCP + TLS handshake per request costs
 * the socket path against a distant provider. A TLS upstream (this run's test CA, trusted by workerd
 * through `NODE_EXTRA_CA_CERTS`) sits behind a relay that delays every chunk by a one-way time, so a
 * round trip costs 2 × that. Sequential small JSON requests, p50 per side and delay:
 *
 * - direct: Node's keep-alive HTTPS agent through the relay (one round trip per request once warm);
 * - socket preset: a new TCP connection and TLS handshake per request (a Worker cannot keep a socket);
 * - fetch preset: workerd's own pooled connections.
 */

import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { connect, createServer as createTcpServer } from "node:net";
import { median, nowMs, round } from "./lib/stats.mjs";
import { ensureBenchTls } from "./lib/tls-material.mjs";
import { startWorkerd } from "./lib/workerd.mjs";

const quick = process.argv.includes("--quick");
const ONE_WAY_DELAYS_MS = quick ? [0, 20] : [0, 10, 25, 50];
const REQUESTS = quick ? 15 : 40;
const BODY = JSON.stringify({
  id: "x",
  object: "chat.completion",
  choices: [{ message: { content: "ok" } }],
});
const log = (line) => process.stderr.write(`handshake: ${line}\n`);

/** A TCP relay that holds every chunk for `delay.ms` in each direction (order kept: equal delays). */
async function startDelayRelay(targetPort, delay) {
  const sockets = new Set();
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    // Both legs without Nagle: a relay that coalesced small writes would add its own delayed-ACK stalls
    // (~40 ms) to the handshake's small flights, a cost of the relay and not of the path measured.
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const pipe = (from, to) => {
      from.on("data", (chunk) => {
        const ms = delay.ms;
        if (ms === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), ms);
      });
      from.on("end", () => setTimeout(() => to.end(), delay.ms));
      from.on("error", () => to.destroy());
      from.on("close", () => sockets.delete(from));
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  server.on("connection", (s) => s.setNoDelay(true));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

function timed(requestFn, url, agent) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const req = requestFn(url, { agent }, (res) => {
      let text = "";
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () => resolve({ ms: nowMs() - started, status: res.statusCode, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function main() {
  const tls = await ensureBenchTls();
  const upstreamTls = { handshakes: 0 };
  const server = createHttpsServer(
    { key: tls.server.key, cert: tls.server.cert, keepAliveTimeout: 60_000 },
    (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) });
        res.end(BODY);
      });
    },
  );
  server.on("secureConnection", () => {
    upstreamTls.handshakes += 1;
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const delay = { ms: 0 };
  const relay = await startDelayRelay(server.address().port, delay);
  const target = `https://localhost:${relay.port}`;
  const workerd = await startWorkerd({
    // Plain workerd does not read NODE_EXTRA_CA_CERTS (wrangler does): trust the CA in the network service.
    trustedCaPem: tls.trustedCa,
    vars: {
      ALLOW_PRIVATE_TARGETS: "true",
      ENDPOINTS: JSON.stringify({
        "hs-socket": { targets: [target], transport: "socket" },
        "hs-fetch": { targets: [target], transport: "fetch" },
      }),
    },
  });
  const sides = {
    direct: {
      url: `${target}/json`,
      fn: httpsRequest,
      agent: new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: tls.trustedCa }),
    },
    socket_preset: {
      url: `${workerd.gatewayUrl}/hs-socket/json`,
      fn: httpRequest,
      agent: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
    },
    fetch_preset: {
      url: `${workerd.gatewayUrl}/hs-fetch/json`,
      fn: httpRequest,
      agent: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
    },
  };
  const rows = [];
  try {
    for (const ms of ONE_WAY_DELAYS_MS) {
      delay.ms = ms;
      const row = { one_way_ms: ms, rtt_ms: 2 * ms };
      for (const [name, side] of Object.entries(sides)) {
        for (let i = 0; i < 3; i++) await timed(side.fn, side.url, side.agent);
        const before = upstreamTls.handshakes;
        const times = [];
        for (let i = 0; i < REQUESTS; i++) {
          const r = await timed(side.fn, side.url, side.agent);
          if (r.status !== 200) throw new Error(`${name} answered ${r.status}: ${r.text.slice(0, 200)}`);
          times.push(r.ms);
        }
        row[name] = {
          p50_ms: round(median(times), 2),
          handshakes_per_request: round((upstreamTls.handshakes - before) / REQUESTS, 2),
        };
      }
      row.socket_minus_fetch_ms = round(row.socket_preset.p50_ms - row.fetch_preset.p50_ms, 2);
      row.socket_minus_fetch_in_rtts = ms > 0 ? round(row.socket_minus_fetch_ms / (2 * ms), 2) : null;
      rows.push(row);
      log(
        `RTT ${2 * ms} ms: direct ${row.direct.p50_ms} ms, socket ${row.socket_preset.p50_ms} ms (${row.socket_preset.handshakes_per_request} handshakes/request), fetch ${row.fetch_preset.p50_ms} ms (${row.fetch_preset.handshakes_per_request}); socket − fetch ${row.socket_minus_fetch_ms} ms = ${row.socket_minus_fetch_in_rtts ?? "–"} RTT`,
      );
    }
  } finally {
    for (const side of Object.values(sides)) side.agent.destroy();
    await workerd.stop();
    await relay.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

await main();

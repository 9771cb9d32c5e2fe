/**
 * WebSocket upstream mock (the `ws` package) for the relay tests. Routes (by upgrade path):
 *
 * - `/echo?id=X`: echoes every message with its type (text stays text, binary stays binary). Text
 *   commands instead of echo:
 *   `cmd:close:<code>:<reason>` closes with that code (`cmd:close` without one: no status code); `cmd:ping:<payload>` sends a ping and answers
 *   `pong:<payload>` when the pong arrives; `cmd:headers` answers the handshake headers as JSON;
 *   `cmd:fragment:<n>:<text>` sends `<text>` as a text message in n frames (`cmd:fragment-bin:` the
 *   same as binary); `cmd:big:<bytes>` sends a binary message of that size (byte i = i % 251).
 *   Subprotocols: selects `chat.v2` if offered, else `chat.v1` if offered, else none.
 * - `/early`: a raw server that writes the 101 and a text frame "early hello" in one TCP write.
 * - `/stall`: completes the handshake and then never reads (the relay's writes back up).
 * - `/status/<code>`: refuses the upgrade with that HTTP status.
 * - `/live/<scenario>?tag=T`: a Gemini Live API mock, see `handleLive`.
 * - `?forge` on any `ws` route: the 101 also carries `X-Proxy-Session-Id` and `X-Proxy-Error`.
 *
 * `GET /log/<id>` (plain HTTP) returns what connection `id` observed: handshake headers, the close
 * code/reason it received, message and ping counts; `?wait=close` / `?wait=ping` hold the answer
 * until that happened (at most 5 s). `GET /live-log/<tag>` returns a Live session's record.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { encodeClosePayload, encodeFrame, Opcode } from "../../src/transport/ws-frame";
import { WsReader } from "../../src/transport/ws-reader";
import type { RunningMock } from "./global-setup";

export interface WsConnectionLog {
  headers: [string, string][];
  messages: number;
  /** Pings received from the relay (keep-alive). */
  pings: number;
  closeCode: number | null;
  closeReason: string | null;
}

export interface LiveSessionLog {
  connections: number;
  resumedWith: string[];
  /** Client texts consumed, in order (after the rollback a resume implies). */
  consumed: string[];
  /** Texts the server consumed more than once (a replay of something already in the state). */
  duplicates: string[];
  /** The API key each connection carried (`x-goog-api-key`, else `?key=`; "" for none), in order. */
  keys: string[];
}

const logs = new Map<string, WsConnectionLog>();
/** Resolves when connection `id` saw its close (for `GET /log/<id>?wait=close`). */
const closedSignals = new Map<string, Promise<void>>();
/** Resolves when connection `id` received its first ping (for `GET /log/<id>?wait=ping`). */
const pingSignals = new Map<string, Promise<void>>();
/** How long a `?wait=close` request waits at most before answering with what is known. */
const LOG_WAIT_MAX_MS = 5_000;
const liveSessions = new Map<string, LiveSessionLog & { snapshots: Map<string, number> }>();

function headerPairs(req: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    out.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
  return out;
}

function pattern(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

function handleEcho(ws: WebSocket, req: IncomingMessage, id: string): void {
  const log: WsConnectionLog = {
    headers: headerPairs(req),
    messages: 0,
    pings: 0,
    closeCode: null,
    closeReason: null,
  };
  logs.set(id, log);
  let firstPing = () => {};
  pingSignals.set(
    id,
    new Promise((resolve) => {
      firstPing = resolve;
    }),
  );
  closedSignals.set(
    id,
    new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        log.closeCode = code;
        log.closeReason = reason.toString("utf8");
        resolve();
      });
    }),
  );
  ws.on("pong", (payload) => ws.send(`pong:${payload.toString("utf8")}`));
  ws.on("ping", () => {
    log.pings++;
    if (log.pings === 1) firstPing();
  });
  ws.on("message", (data: RawData, isBinary: boolean) => {
    log.messages++;
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
    const text = isBinary ? null : buf.toString("utf8");
    if (text?.startsWith("cmd:")) {
      const [, name = "", ...args] = text.split(":");
      if (name === "close") {
        if (args[0]) ws.close(Number(args[0]), args.slice(1).join(":"));
        else ws.close(); // a close frame without a status code (1005 at the other end)
      } else if (name === "ping") ws.ping(args.join(":"));
      else if (name === "headers") ws.send(JSON.stringify(log.headers));
      else if (name === "big") ws.send(pattern(Number(args[0])), { binary: true });
      else if (name === "fragment" || name === "fragment-bin") {
        const n = Number(args[0]);
        const payload = Buffer.from(args.slice(1).join(":"), "utf8");
        const step = Math.ceil(payload.length / n);
        for (let i = 0; i < n; i++) {
          ws.send(payload.subarray(i * step, (i + 1) * step), {
            binary: name === "fragment-bin",
            fin: i === n - 1,
          });
        }
      }
      return;
    }
    ws.send(buf, { binary: isBinary });
  });
}

/** The parts of a Live API client message the mock reads. */
interface LiveClientMessage {
  setup?: { sessionResumption?: { handle?: string } };
  clientContent?: { turns?: { parts?: { text?: string }[] }[] };
}

/** The Live API sends its JSON in binary frames. */
function sendJson(ws: WebSocket, value: unknown): void {
  ws.send(Buffer.from(JSON.stringify(value)), { binary: true });
}

/**
 * Gemini Live mock. The first message must be `setup`; a `setup.sessionResumption.handle` resumes the
 * session state recorded for that handle (consumed messages roll back to it). Every `clientContent`
 * is answered by `serverContent` echoing its text, then a resumable `sessionResumptionUpdate` whose
 * `lastConsumedClientMessageIndex` counts this connection's messages with the setup as 0.
 * Scenarios (first connection of a session only):
 * - `goaway`: after 3 consumed messages sends `goAway`, then drops the connection 1 s later;
 * - `drop`: receives a 4th message without consuming it and drops the connection (no close frame);
 * - `noresume`: sends no resumption updates; after 2 messages closes with 4003 "session over".
 * Scenarios (every connection):
 * - `reject`: a message whose text is `bad` is not consumed; the connection is closed with 1007 "Request contains an
 *   invalid argument." (what the real service does with a message it rejects);
 * - `dropeach`: answers `setup` with `setupComplete` and a resumable update, then drops the connection (no close
 *   frame) on every other message without consuming it.
 */
function handleLive(ws: WebSocket, scenario: string, tag: string, socket: Socket, apiKey: string): void {
  let session: (LiveSessionLog & { snapshots: Map<string, number> }) | undefined;
  let index = 0;
  let first = false;
  let consumedHere = 0;
  let dropped = false;
  ws.on("message", (data: RawData) => {
    const msg = JSON.parse(Buffer.from(data as Buffer).toString("utf8")) as LiveClientMessage;
    if (index === 0) {
      index = 1;
      const handle: string | undefined = msg.setup?.sessionResumption?.handle;
      if (handle) {
        session = liveSessions.get(tag);
        const at = session?.snapshots.get(handle);
        if (!session || at === undefined) {
          ws.close(1008, "unknown resumption handle");
          return;
        }
        session.connections++;
        session.keys.push(apiKey);
        session.resumedWith.push(handle);
        session.consumed.length = at;
      } else {
        first = true;
        session = {
          connections: 1,
          resumedWith: [],
          consumed: [],
          duplicates: [],
          keys: [apiKey],
          snapshots: new Map(),
        };
        liveSessions.set(tag, session);
      }
      sendJson(ws, { setupComplete: {} });
      if (scenario === "dropeach") {
        const s = session!;
        const handle = `${tag}.${s.snapshots.size + 1}`;
        s.snapshots.set(handle, s.consumed.length);
        sendJson(ws, {
          sessionResumptionUpdate: {
            newHandle: handle,
            resumable: true,
            lastConsumedClientMessageIndex: "0",
          },
        });
      }
      return;
    }
    const s = session!;
    const connIndex = index++;
    const text: string = msg.clientContent?.turns?.[0]?.parts?.[0]?.text ?? "";
    if (dropped) return;
    if (scenario === "reject" && text === "bad") {
      dropped = true;
      ws.close(1007, "Request contains an invalid argument.");
      return;
    }
    if (scenario === "dropeach") {
      dropped = true;
      socket.end();
      return;
    }
    if (first && scenario === "drop" && consumedHere === 3) {
      // Drop without a close frame and without consuming this message. end() (FIN) rather than
      // destroy(): with unread bytes in the kernel buffer destroy() sends a RST, which makes the
      // relay's kernel discard the echoes it had not read yet, and the test would depend on timing.
      dropped = true;
      socket.end();
      return;
    }
    if (s.consumed.includes(text)) s.duplicates.push(text);
    s.consumed.push(text);
    consumedHere++;
    sendJson(ws, { serverContent: { modelTurn: { parts: [{ text: `echo:${text}` }] }, turnComplete: true } });
    if (scenario !== "noresume") {
      const handle = `${tag}.${s.snapshots.size + 1}`;
      s.snapshots.set(handle, s.consumed.length);
      sendJson(ws, {
        sessionResumptionUpdate: {
          newHandle: handle,
          resumable: true,
          lastConsumedClientMessageIndex: String(connIndex),
        },
      });
    }
    if (first && scenario === "goaway" && consumedHere === 3) {
      sendJson(ws, { goAway: { timeLeft: "1s" } });
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    if (first && scenario === "noresume" && consumedHere === 2) ws.close(4003, "session over");
  });
}

function switchingProtocolsHead(req: IncomingMessage): string {
  const key = req.headers["sec-websocket-key"] ?? "";
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
}

/** Completes the handshake, then never reads: the relay's writes back up (backpressure tests). */
function handleStall(req: IncomingMessage, socket: Socket): void {
  socket.write(switchingProtocolsHead(req));
  socket.pause();
}

/** Raw 101 + first frame in one write: proves frames that arrive with the handshake are kept. */
function handleEarly(req: IncomingMessage, socket: Socket): void {
  const head = switchingProtocolsHead(req);
  const frame = encodeFrame(
    { fin: true, opcode: Opcode.text, payload: new TextEncoder().encode("early hello") },
    null,
  );
  socket.write(Buffer.concat([Buffer.from(head, "latin1"), frame]));
  const reader = new WsReader({ role: "server", maxMessageBytes: 1 << 20 });
  socket.on("data", (chunk: Buffer) => {
    try {
      for (const event of reader.push(chunk)) {
        if (event.type === "text")
          socket.write(
            encodeFrame(
              {
                fin: true,
                opcode: Opcode.text,
                payload: new TextEncoder().encode(`early echo:${event.data}`),
              },
              null,
            ),
          );
        if (event.type === "close") {
          socket.end(
            encodeFrame(
              {
                fin: true,
                opcode: Opcode.close,
                payload: encodeClosePayload(event.code === 1005 ? undefined : event.code),
              },
              null,
            ),
          );
        }
      }
    } catch {
      socket.destroy();
    }
  });
  socket.on("error", () => {});
}

export async function start(): Promise<RunningMock> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) =>
      protocols.has("chat.v2") ? "chat.v2" : protocols.has("chat.v1") ? "chat.v1" : false,
  });
  // `?forge` on an upgrade: the 101 carries headers that imitate the gateway's own (issue 11.5).
  wss.on("headers", (headers, req) => {
    if (new URL(req.url ?? "/", "http://mock").searchParams.has("forge")) {
      headers.push("X-Proxy-Session-Id: forged-by-upstream", "X-Proxy-Error: forged-by-upstream");
    }
  });
  const rawSockets = new Set<Socket>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://mock");
    const [, kind, id = ""] = url.pathname.split("/");
    const wait = url.searchParams.get("wait");
    if (kind === "log" && wait) {
      // Long-poll: the relay may report the close to the client before ws emits "close" here.
      const signal = (wait === "ping" ? pingSignals : closedSignals).get(id);
      if (signal) await Promise.race([signal, new Promise((r) => setTimeout(r, LOG_WAIT_MAX_MS).unref())]);
    }
    const body = kind === "log" ? logs.get(id) : kind === "live-log" ? liveSessions.get(id) : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const { snapshots: _snapshots, ...rest } = body as LiveSessionLog & { snapshots?: unknown };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(rest));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => {});
    const url = new URL(req.url ?? "/", "http://mock");
    const parts = url.pathname.split("/");
    const kind = parts[1];
    if (kind === "status") {
      const status = Number(parts[2]);
      socket.end(
        `HTTP/1.1 ${status} Refused\r\ncontent-type: text/plain\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused`,
      );
      return;
    }
    rawSockets.add(socket);
    socket.on("close", () => rawSockets.delete(socket));
    if (kind === "early") {
      handleEarly(req, socket);
      return;
    }
    if (kind === "stall") {
      handleStall(req, socket);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => {});
      if (kind === "live") {
        const goog = req.headers["x-goog-api-key"];
        const apiKey = typeof goog === "string" ? goog : (url.searchParams.get("key") ?? "");
        handleLive(ws, parts[2] ?? "", url.searchParams.get("tag") ?? "", socket, apiKey);
      } else handleEcho(ws, req, url.searchParams.get("id") ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of rawSockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

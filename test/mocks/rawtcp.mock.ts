import { createHash, type Hash } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { RunningMock } from "./global-setup";
import type { RawTcpScript, RawTcpScriptSet, RawTcpStep, ReceivedRequest } from "./rawtcp-protocol";

/**
 * A raw TCP upstream whose answers are scripted per test, byte for byte (issue 3). The test
 * registers a script under an id on the control port, sends its request to `/<id>/...` on the main
 * port, and reads back what the mock received for that id (to prove there was no replay).
 *
 * Ports: `rawtcp` (main), `rawtcp.control` (HTTP control API), `rawtcp.silent` (accepts TCP and
 * never reads or writes: a TLS handshake there never completes), `rawtcp.refused` (nothing listens).
 *
 * Control API: `PUT /scripts/<id>` with a `RawTcpScript` JSON; `GET /received/<id>` answers
 * `{ count, requests: ReceivedRequest[] }`. An id without a script gets the echo behaviour.
 * Every connection serves one request; the mock then closes (or does what the script says).
 */

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

interface Record_ {
  count: number;
  requests: ReceivedRequest[];
}

class BodyCounter {
  readonly #hash: Hash = createHash("sha256");
  length = 0;
  add(chunk: Buffer): void {
    this.length += chunk.length;
    this.#hash.update(chunk);
  }
  digest(): string {
    return this.#hash.digest("hex");
  }
}

/** Consumes a request body (Content-Length or chunked) as it streams in; `done` resolves at its end. */
class BodyReader {
  readonly counter = new BodyCounter();
  readonly done: Promise<void>;
  #resolve!: () => void;
  #remaining: number;
  #chunked: boolean;
  #buf = Buffer.alloc(0);
  #chunkLeft = 0;
  #state: "size" | "data" | "data-crlf" | "trailers" | "end" = "size";

  constructor(headers: [string, string][]) {
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
    const get = (n: string) => headers.find(([k]) => k.toLowerCase() === n)?.[1];
    this.#chunked = (get("transfer-encoding") ?? "").toLowerCase().includes("chunked");
    this.#remaining = this.#chunked ? 0 : Number(get("content-length") ?? "0");
    if (!this.#chunked && this.#remaining === 0) this.#finish();
  }

  #finish(): void {
    this.#state = "end";
    this.#resolve();
  }

  push(data: Buffer): void {
    if (this.#state === "end") return;
    if (!this.#chunked) {
      const take = data.subarray(0, this.#remaining);
      this.counter.add(take);
      this.#remaining -= take.length;
      if (this.#remaining === 0) this.#finish();
      return;
    }
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, data]) : data;
    for (;;) {
      if (this.#state === "data") {
        const take = this.#buf.subarray(0, this.#chunkLeft);
        if (take.length === 0) return;
        this.counter.add(take);
        this.#chunkLeft -= take.length;
        this.#buf = this.#buf.subarray(take.length);
        if (this.#chunkLeft === 0) this.#state = "data-crlf";
        continue;
      }
      const nl = this.#buf.indexOf("\r\n");
      if (nl < 0) return;
      const line = this.#buf.subarray(0, nl).toString("latin1");
      this.#buf = this.#buf.subarray(nl + 2);
      if (this.#state === "data-crlf") {
        this.#state = "size";
      } else if (this.#state === "size") {
        const size = Number.parseInt(line.split(";")[0] ?? "", 16);
        if (size === 0) this.#state = "trailers";
        else {
          this.#chunkLeft = size;
          this.#state = "data";
        }
      } else if (this.#state === "trailers" && line === "") {
        this.#finish();
        return;
      }
    }
  }
}

function parseHead(head: string): {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
} {
  const lines = head.split("\r\n");
  const [method = "", target = "", version = ""] = (lines.shift() ?? "").split(" ");
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { method, target, version, headers };
}

/** The deterministic download pattern: byte i of the body is `i % 251` (tests verify on the fly). */
export function patternByte(i: number): number {
  return i % 251;
}

async function writeDrained(socket: Socket, data: Buffer): Promise<void> {
  if (socket.destroyed) throw new Error("socket destroyed");
  if (!socket.write(data)) {
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new Error("socket closed while writing"));
      socket.once("drain", () => {
        socket.off("close", onClose);
        resolve();
      });
      socket.once("close", onClose);
    });
  }
}

async function download(
  socket: Socket,
  step: Extract<RawTcpStep, { download: unknown }>["download"],
  received: ReceivedRequest,
) {
  const chunkSize = step.chunkSize ?? 64 * 1024;
  const head = step.chunked
    ? "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    : `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${step.bytes}\r\n\r\n`;
  await writeDrained(socket, Buffer.from(head, "latin1"));
  const block = Buffer.alloc(chunkSize + 251);
  for (let i = 0; i < block.length; i++) block[i] = patternByte(i);
  for (let offset = 0; offset < step.bytes; offset += chunkSize) {
    const n = Math.min(chunkSize, step.bytes - offset);
    const start = offset % 251;
    const data = block.subarray(start, start + n);
    if (step.chunked) await writeDrained(socket, Buffer.from(`${n.toString(16)}\r\n`, "latin1"));
    await writeDrained(socket, data);
    received.downloadBytesSent += n;
    if (step.chunked) await writeDrained(socket, Buffer.from("\r\n", "latin1"));
  }
  if (step.chunked) await writeDrained(socket, Buffer.from("0\r\n\r\n", "latin1"));
}

function echoResponse(req: ReceivedRequest): Buffer {
  const body = Buffer.from(JSON.stringify(req));
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      "latin1",
    ),
    body,
  ]);
}

async function runSteps(socket: Socket, steps: RawTcpStep[], received: ReceivedRequest, body: BodyReader) {
  for (const step of steps) {
    if (socket.destroyed) return;
    if ("write" in step) await writeDrained(socket, Buffer.from(step.write, "base64"));
    else if ("text" in step) await writeDrained(socket, Buffer.from(step.text, "latin1"));
    else if ("delayMs" in step) await new Promise((r) => setTimeout(r, step.delayMs));
    else if ("end" in step) return void socket.end();
    else if ("reset" in step) return void socket.resetAndDestroy();
    else if ("hang" in step) return;
    else if ("pauseRead" in step) socket.pause();
    else if ("echo" in step) {
      await body.done;
      await writeDrained(socket, echoResponse(received));
    } else if ("download" in step) await download(socket, step.download, received);
  }
  socket.end();
}

/** The script for the n-th (1-based) request to an id; echo when none was registered. */
function scriptFor(set: RawTcpScriptSet | undefined, n: number): RawTcpScript {
  if (!set) return { steps: [{ echo: true }] };
  if (!("sequence" in set)) return set;
  return set.sequence[Math.min(n, set.sequence.length) - 1] ?? { steps: [{ echo: true }] };
}

export async function start(): Promise<RunningMock> {
  const scripts = new Map<string, RawTcpScriptSet>();
  const records = new Map<string, Record_>();
  const sockets = new Set<Socket>();

  const main = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    let body: BodyReader | null = null;
    socket.on("data", (data: Buffer) => {
      if (body) return body.push(data);
      head = Buffer.concat([head, data]);
      const end = head.indexOf(CRLF2);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) socket.destroy();
        return;
      }
      const parsed = parseHead(head.subarray(0, end).toString("latin1"));
      const id = parsed.target.split("/")[1] ?? "";
      const record = records.get(id) ?? { count: 0, requests: [] };
      records.set(id, record);
      record.count++;
      const reader = new BodyReader(parsed.headers);
      body = reader;
      const received: ReceivedRequest = {
        ...parsed,
        bodyLength: 0,
        bodySha256: "",
        complete: false,
        downloadBytesSent: 0,
        closed: false,
      };
      socket.once("close", () => {
        received.closed = true;
      });
      record.requests.push(received);
      void reader.done.then(() => {
        received.bodyLength = reader.counter.length;
        received.bodySha256 = reader.counter.digest();
        received.complete = true;
      });
      const rest = head.subarray(end + 4);
      if (rest.length) reader.push(rest);
      const script = scriptFor(scripts.get(id), record.count);
      const ready = script.when === "head" ? Promise.resolve() : reader.done;
      ready.then(() => runSteps(socket, script.steps, received, reader)).catch(() => socket.destroy());
    });
  });

  const control = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, kind = "", id = ""] = (req.url ?? "").split("/");
      res.setHeader("content-type", "application/json");
      if (req.method === "PUT" && kind === "scripts") {
        scripts.set(id, JSON.parse(Buffer.concat(chunks).toString("utf8")) as RawTcpScriptSet);
        records.delete(id);
        res.end("{}");
      } else if (req.method === "GET" && kind === "received") {
        res.end(JSON.stringify(records.get(id) ?? { count: 0, requests: [] }));
      } else {
        res.statusCode = 404;
        res.end("{}");
      }
    });
  });

  // Accepts connections and never answers: a TLS handshake against it stalls (connect timeout).
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });

  const listen = (server: Server | ReturnType<typeof createHttpServer>) =>
    new Promise<number>((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : 0);
      });
    });
  const close = (server: Server | ReturnType<typeof createHttpServer>) =>
    new Promise<void>((resolve) => server.close(() => resolve()));

  const port = await listen(main);
  const controlPort = await listen(control);
  const silentPort = await listen(silent);
  // A port that was free a moment ago: connecting to it is refused.
  const probe = createServer();
  const refusedPort = await listen(probe);
  await close(probe);

  return {
    port,
    extraPorts: { control: controlPort, silent: silentPort, refused: refusedPort },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([close(main), close(control), close(silent)]);
    },
  };
}

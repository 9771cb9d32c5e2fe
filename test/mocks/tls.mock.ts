/**
 * TLS upstreams for the real-TLS tests (DESIGN §9). Each port terminates TLS with this run's material
 * (`tls-material.ts`, the same files workerd trusts through `NODE_EXTRA_CA_CERTS`) and relays the
 * decrypted bytes to a plain mock, so every existing mock feature works over TLS unchanged:
 *
 * - `tls` (the main port): trusted certificate for localhost/127.0.0.1 → the echo mock;
 * - `tls.gemini`, `tls.ws`, `tls.llm`: the same certificate → the Gemini mock / the WebSocket mock
 *   (`wss`) / the LLM mock (the SDK end-to-end tests);
 * - `tls.untrusted`: a localhost/127.0.0.1 certificate from a CA nobody trusts → the echo mock;
 * - `tls.wronghost`: a trusted certificate for another host name only → the echo mock;
 * - `tls.handshake_reset`: reads the client's first handshake bytes (ClientHello), then resets the
 *   connection (TCP RST) before answering.
 *
 * `GET /connections` on the plain HTTP port `tls.control` answers, per front, the TCP connections it
 * accepted and the TLS handshakes that completed (`{ accepted: { untrusted: 3 }, secured: { … } }`): a
 * test can prove that a refused certificate let no request byte through, on either transport.
 */
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { RunningMock } from "./global-setup";
import { ensureTestTls } from "./tls-material";

interface Listening {
  port: number;
  close(): Promise<void>;
}

/** Accepted TCP connections and completed TLS handshakes per front, by its name. */
const accepted = new Map<string, number>();
const secured = new Map<string, number>();

function count(map: Map<string, number>, label: string): void {
  map.set(label, (map.get(label) ?? 0) + 1);
}

async function listen(server: Server, label: string): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    count(accepted, label);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Relays a decrypted connection to `127.0.0.1:<backend port>`; either side's end ends the other. */
function relayTo(label: string, backendPort: () => number | undefined) {
  return (client: TLSSocket) => {
    count(secured, label);
    const port = backendPort();
    if (port === undefined) {
      client.destroy();
      return;
    }
    const backend = connect(port, "127.0.0.1");
    client.pipe(backend);
    backend.pipe(client);
    client.on("error", () => backend.destroy());
    backend.on("error", () => client.destroy());
    client.on("close", () => backend.destroy());
    backend.on("close", () => client.destroy());
  };
}

function front(
  label: string,
  cert: { cert: string; key: string },
  backendPort: () => number | undefined,
): Server {
  const server = createTlsServer({ cert: cert.cert, key: cert.key }, relayTo(label, backendPort));
  // A client that refuses our certificate aborts the handshake: expected here, not a mock failure.
  server.on("tlsClientError", () => {});
  return server;
}

/** Answers the first bytes of a handshake with a TCP reset. */
function handshakeReset(): Server {
  return createTcpServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => socket.resetAndDestroy());
  });
}

/**
 * `ports` holds the other mocks' ports; the global setup fills it as mocks start (some start after
 * this one), so the backend port is read per connection, when every mock is listening.
 */
export async function start(ports: Readonly<Record<string, number>> = {}): Promise<RunningMock> {
  const material = ensureTestTls();
  // name → [certificate, the plain mock it relays to]
  const fronts: Record<string, [{ cert: string; key: string }, string]> = {
    main: [material.server, "echo"],
    gemini: [material.server, "gemini"],
    ws: [material.server, "ws"],
    llm: [material.server, "llm"],
    untrusted: [material.untrustedServer, "echo"],
    wronghost: [material.wrongHost, "echo"],
  };
  const opened: Record<string, Listening> = {};
  for (const [name, [cert, backend]] of Object.entries(fronts)) {
    opened[name] = await listen(
      front(name, cert, () => ports[backend]),
      name,
    );
  }
  opened.handshake_reset = await listen(handshakeReset(), "handshake_reset");
  const control = createHttpServer((req, res) => {
    if (req.url === "/connections") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ accepted: Object.fromEntries(accepted), secured: Object.fromEntries(secured) }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  opened.control = await listen(control, "control");
  const { main, ...extras } = opened;
  return {
    port: main!.port,
    extraPorts: Object.fromEntries(Object.entries(extras).map(([name, l]) => [name, l.port])),
    close: async () => {
      await Promise.all(Object.values(opened).map((l) => l.close()));
    },
  };
}

/**
 * The redirecting upstream (issue 11.1): answers every request, WebSocket upgrades included, with a
 * redirect to a second port (`redirect.landing`) that records every request it receives. A gateway
 * that follows the redirect shows up in the landing log, with the headers it carried there.
 *
 * Main port:
 * - `<any method> /<status>/<id>/…`: answers `<status>` (a 3xx) with `Location` pointing at
 *   `http://127.0.0.1:<landing>/landed/<id>` and a short body;
 * - `GET /reached/<id>`: `{ "requests": n, "headers": [[name, value], …] }` of what the landing port
 *   saw for `id` (headers of the last request).
 * Landing port: answers 200 `landed` to anything, and records it under the id in its path.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningMock } from "./global-setup";

interface Landing {
  requests: number;
  headers: [string, string][];
}

function idOf(path: string, index: number): string {
  return path.split("?")[0]?.split("/")[index] ?? "";
}

export async function start(): Promise<RunningMock> {
  const landed = new Map<string, Landing>();
  const landing = createServer((req, res) => {
    const id = idOf(req.url ?? "/", 2);
    const record = landed.get(id) ?? { requests: 0, headers: [] };
    record.requests += 1;
    record.headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      record.headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    }
    landed.set(id, record);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("landed");
  });
  await new Promise<void>((resolve) => landing.listen(0, "127.0.0.1", resolve));
  const landingPort = (landing.address() as AddressInfo).port;

  // Node hands upgrade requests to the request handler when no `upgrade` listener is set.
  const main = createServer((req, res) => {
    const path = req.url ?? "/";
    const first = idOf(path, 1);
    if (first === "reached") {
      const record = landed.get(idOf(path, 2)) ?? { requests: 0, headers: [] };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(record));
      return;
    }
    const status = Number(first);
    res.writeHead(status >= 300 && status < 400 ? status : 302, {
      location: `http://127.0.0.1:${landingPort}/landed/${idOf(path, 2)}`,
      "content-type": "text/plain",
      "x-mock": "redirect",
    });
    res.end("moved");
  });
  await new Promise<void>((resolve) => main.listen(0, "127.0.0.1", resolve));

  const closeServer = (server: typeof main) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    port: (main.address() as AddressInfo).port,
    extraPorts: { landing: landingPort },
    close: async () => {
      await Promise.all([closeServer(main), closeServer(landing)]);
    },
  };
}

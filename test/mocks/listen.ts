import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningMock } from "./global-setup";

/** Listens on an ephemeral loopback port; `close()` also drops keep-alive connections so teardown never hangs. */
export async function listenOnLoopback(server: Server): Promise<RunningMock> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

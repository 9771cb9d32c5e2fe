import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TestProject } from "vitest/node";

/**
 * Starts every mock upstream in this folder (`*.mock.ts`, each exporting
 * `start(): Promise<RunningMock>`) on 127.0.0.1 with an ephemeral port, and provides their ports to
 * the tests as `inject("mockPorts")` (and, in workerd, as the `MOCK_PORTS` binding). A mock is named
 * after its file: `echo.mock.ts` → `mockPorts.echo`. `start` receives the port record as it fills,
 * for a mock that forwards to another (`tls.mock.ts`); read it per connection, not at start.
 */
export interface RunningMock {
  port: number;
  /** Extra named ports a mock opens (e.g. a second, dead target): provided as `name.extra`. */
  extraPorts?: Record<string, number>;
  close(): Promise<void>;
}

declare module "vitest" {
  export interface ProvidedContext {
    mockPorts: Record<string, number>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith(".mock.ts"));
  const running: RunningMock[] = [];
  const ports: Record<string, number> = {};
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as {
      start(ports: Readonly<Record<string, number>>): Promise<RunningMock>;
    };
    const mock = await mod.start(ports);
    const name = file.slice(0, -".mock.ts".length);
    ports[name] = mock.port;
    for (const [extra, port] of Object.entries(mock.extraPorts ?? {})) ports[`${name}.${extra}`] = port;
    running.push(mock);
  }
  project.provide("mockPorts", ports);
  return async () => {
    await Promise.all(running.map((m) => m.close()));
  };
}

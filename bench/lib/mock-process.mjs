/**
 * Runs mock upstreams in a child Node process, so the measuring client and the upstream do not share
 * one event loop (in-process, a 50 MiB transfer or a burst of 128 requests would make the mock and
 * the client compete for the same thread and distort "direct").
 *
 * Child side: `node mock-process.mjs <module> <export>` starts `export()` from `<module>`, prints
 * `{"ports": …}` as one line on stdout, and exits when its stdin closes (so it never outlives the bench).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const SELF = fileURLToPath(import.meta.url);

/** Parent side: starts `exportName` of `modulePath` in a child; resolves with its ports and `close()`. */
export function startMockProcess(modulePath, exportName, args = {}) {
  const child = spawn(process.execPath, [SELF, modulePath, exportName, JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    child.once("exit", (code) => reject(new Error(`mock process ${exportName} exited (${code})`)));
    lines.once("line", (line) => {
      const info = JSON.parse(line);
      resolve({
        ...info,
        pid: child.pid,
        close: () =>
          new Promise((r) => {
            if (child.exitCode !== null) return r();
            child.once("exit", r);
            child.stdin.end();
          }),
      });
    });
  });
}

if (process.argv[1] === SELF) {
  const [modulePath, exportName, argsJson] = process.argv.slice(2);
  const mod = await import(pathToFileURL(modulePath).href);
  const running = await mod[exportName](JSON.parse(argsJson ?? "{}"));
  const { close, ...info } = running;
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await close();
    process.exit(0);
  });
}

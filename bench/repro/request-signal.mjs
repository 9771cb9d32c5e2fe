/**
 * Does a Worker learn that its client left while it is still waiting for an upstream? A ten-line Worker
 * waits 1.5 s before answering; the client disconnects after 200 ms. Under `workerd serve` (checked with
 * workerd 2026-11-02) `request.signal` never fires, with or without the `enable_request_signal` flag,
 * and the handler runs to its end: a gateway cannot rely on the signal to stop failing over for a
 * client that is gone. Run: `npx node bench/repro/request-signal.mjs`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_DIR } from "../lib/workerd.mjs";

const WORKER = `const log = [];
export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/log") return new Response(JSON.stringify(log.splice(0)));
    const started = Date.now();
    request.signal.addEventListener("abort", () => log.push(\`signal aborted after \${Date.now() - started} ms\`));
    await new Promise((r) => setTimeout(r, 1500));
    log.push(\`handler finished after \${Date.now() - started} ms, signal.aborted=\${request.signal.aborted}\`);
    return new Response("late");
  },
};
`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const flags of [["nodejs_compat"], ["nodejs_compat", "enable_request_signal"]]) {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-signal-"));
  const port = await freePort();
  writeFileSync(join(dir, "w.js"), WORKER);
  writeFileSync(
    join(dir, "c.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "w", worker = .w)], sockets = [(name = "w", address = "127.0.0.1:${port}", http = (), service = "w")]);
const w :Workerd.Worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2026-10-01", compatibilityFlags = [${flags.map((f) => `"${f}"`).join(", ")}]);
`,
  );
  const workerd = spawn(
    join(REPO_DIR, "node_modules/.bin/workerd"),
    ["serve", join(dir, "c.capnp"), "--experimental"],
    {
      stdio: "ignore",
    },
  );
  try {
    for (let k = 0; k < 50; k++) {
      try {
        await (await fetch(`http://127.0.0.1:${port}/log`)).text();
        break;
      } catch {
        await sleep(100);
      }
    }
    const req = request(`http://127.0.0.1:${port}/wait`);
    req.on("error", () => {});
    req.end();
    await sleep(200);
    req.destroy();
    await sleep(2000);
    console.log(`${flags.join(", ")}: ${await (await fetch(`http://127.0.0.1:${port}/log`)).text()}`);
  } finally {
    workerd.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

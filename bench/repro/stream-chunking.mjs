/**
 * Why the gateway moves large bodies at ~30–60 MB/s while a bare pass-through Worker moves 300+ MB/s
 * (`node bench/repro/stream-chunking.mjs` under Node 24, e.g. `npx node …`): one workerd worker relays a
 * 20 MiB download five ways. Returning the fetch body as is stays native (64 KiB chunks). Pulling it
 * through a JS `ReadableStream` with a default reader, or a JS `TransformStream`, hands JS 4 KiB chunks
 * and costs ~10×; a BYOB reader with a 64 KiB buffer, or the native `IdentityTransformStream`, keeps
 * chunks large. The gateway's responses arrive in ≤ 4096-byte chunks on the socket, fetch and generic
 * routes alike.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockProcess } from "../lib/mock-process.mjs";
import { freePort, REPO_DIR } from "../lib/workerd.mjs";

const WORKER = `export default {
  async fetch(request) {
    const url = new URL(request.url);
    const [, mode, port, ...rest] = url.pathname.split("/");
    const res = await fetch(\`http://127.0.0.1:\${port}/\${rest.join("/")}\${url.search}\`);
    if (mode === "native") return res;
    if (mode === "js-default-reader") {
      const reader = res.body.getReader();
      return new Response(new ReadableStream({ async pull(c) { const r = await reader.read(); if (r.done) c.close(); else c.enqueue(r.value); } }), res);
    }
    if (mode === "js-byob-64k") {
      const reader = res.body.getReader({ mode: "byob" });
      return new Response(new ReadableStream({ type: "bytes", async pull(c) { const r = await reader.read(new Uint8Array(65536)); if (r.done) c.close(); else c.enqueue(r.value); } }), res);
    }
    if (mode === "identity-transform") {
      const { readable, writable } = new IdentityTransformStream();
      res.body.pipeTo(writable).catch(() => {});
      return new Response(readable, res);
    }
    return new Response(res.body.pipeThrough(new TransformStream()), res);
  },
};
`;

const dir = mkdtempSync(join(tmpdir(), "gateway-bench-chunking-"));
const port = await freePort();
writeFileSync(join(dir, "w.js"), WORKER);
writeFileSync(
  join(dir, "c.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "w", worker = .w), (name = "internet", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "w", address = "127.0.0.1:${port}", http = (), service = "w")],
);
const w :Workerd.Worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2026-10-01", globalOutbound = "internet");
`,
);
const mocks = await startMockProcess(join(REPO_DIR, "bench/lib/bench-mocks.mjs"), "startBenchMocks");
const workerd = spawn(join(REPO_DIR, "node_modules/.bin/workerd"), ["serve", join(dir, "c.capnp")], {
  stdio: "ignore",
});
const download = (url) =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    request(url, (res) => {
      let chunks = 0;
      let bytes = 0;
      let largest = 0;
      res.on("data", (c) => {
        chunks++;
        bytes += c.length;
        largest = Math.max(largest, c.length);
      });
      res.on("end", () =>
        resolve({
          chunks,
          largest,
          mb_per_s: Math.round(bytes / 1e6 / ((performance.now() - started) / 1000)),
        }),
      );
    })
      .on("error", reject)
      .end();
  });
try {
  for (let k = 0; k < 50; k++) {
    try {
      await download(`http://127.0.0.1:${port}/native/${mocks.httpPort}/json`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const mode of [
    "native",
    "js-default-reader",
    "js-transform-stream",
    "js-byob-64k",
    "identity-transform",
  ]) {
    const result = await download(
      `http://127.0.0.1:${port}/${mode}/${mocks.httpPort}/blob?bytes=${20 * 2 ** 20}`,
    );
    console.log(mode.padEnd(20), JSON.stringify(result));
  }
} finally {
  workerd.kill("SIGKILL");
  await mocks.close();
  rmSync(dir, { recursive: true, force: true });
}

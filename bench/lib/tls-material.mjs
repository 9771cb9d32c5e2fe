/**
 * The test suite's TLS material (`test/mocks/tls-material.ts`: a CA made at run time, a server
 * certificate for localhost/127.0.0.1) loaded into plain Node for the bench: bundled once with esbuild
 * (its modules import each other without extensions). `ensureTestTls()` sets `NODE_EXTRA_CA_CERTS`
 * in this process, so a workerd started afterwards trusts the CA.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_DIR } from "./workerd.mjs";

const wranglerRequire = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"));
const { build } = wranglerRequire("esbuild");

export async function ensureBenchTls() {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-tls-"));
  const outfile = join(dir, "tls-material.mjs");
  await build({
    entryPoints: [join(REPO_DIR, "test/mocks/tls-material.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    logLevel: "silent",
  });
  const { ensureTestTls } = await import(pathToFileURL(outfile).href);
  rmSync(dir, { recursive: true, force: true });
  return ensureTestTls();
}

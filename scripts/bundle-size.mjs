#!/usr/bin/env node
/**
 * Prints the size of the Worker bundle that `wrangler deploy --dry-run --outdir DIR` wrote: raw and
 * gzip-compressed (what Cloudflare's upload limit counts). Usage: `node scripts/bundle-size.mjs DIR`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node scripts/bundle-size.mjs DIR\n");
  process.exit(2);
}
const modules = readdirSync(dir).filter((name) => /\.(m?js|wasm)$/.test(name));
if (modules.length === 0) {
  process.stderr.write(`bundle-size: no module in ${dir}\n`);
  process.exit(1);
}
let raw = 0;
let gzip = 0;
for (const name of modules) {
  const bytes = readFileSync(join(dir, name));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
process.stdout.write(`worker bundle (${modules.join(", ")}): ${kib(raw)}, gzip ${kib(gzip)}\n`);

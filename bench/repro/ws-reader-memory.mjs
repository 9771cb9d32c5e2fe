/**
 * Heap held by the WebSocket reader (`src/transport/ws-reader.ts`) for a message still in progress
 * (issue 11, item 10): `npx node bench/repro/ws-reader-memory.mjs [<commit>]`. With a commit (e.g.
 * 89e66b9, the one before the fix), the same scenarios also run against that version of the reader.
 * Prints the heap growth per scenario and its ratio to the payload; the fixed reader stays near 1×
 * (at most about 2× while its buffer grows), whatever the number or size of the reads. Figures
 * measured on the development machine: 262,144 one-byte reads 1.3× (before: 236×, 59 MiB); 131,073
 * empty continuations 0.06 MiB and a 1008 (before: 26 MiB); a 10-byte open message at the end of a
 * 64 KiB read 1–4 KiB per reader, the reader itself included (before: 65 KiB).
 *
 * Scenarios: a frame delivered in 262,144 one-byte reads; a message opened by a first fragment and
 * kept open by 131,073 empty continuation frames (the fixed reader fails it with 1008 at
 * `MAX_MESSAGE_FRAGMENTS`); 1,000 connections each left with a 10-byte open message at the end of a
 * 64 KiB read.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importTypeScript } from "../lib/ts-module.mjs";
import { REPO_DIR } from "../lib/workerd.mjs";

if (typeof globalThis.gc !== "function") {
  // Heap figures need a collection before each reading.
  const run = spawnSync(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(run.status ?? 1);
}

/** Bundles `ws-reader.ts` (from the work tree, or from `commit`) into an importable module. */
async function loadReader(commit) {
  const dir = mkdtempSync(join(tmpdir(), "ws-reader-memory-"));
  let entry = join(REPO_DIR, "src/transport/ws-reader.ts");
  if (commit) {
    const src = join(dir, "src");
    mkdirSync(src);
    const files = execFileSync("git", ["ls-tree", "--name-only", commit, "src/transport/"], { cwd: REPO_DIR })
      .toString()
      .split("\n")
      .filter((f) => f.endsWith(".ts"));
    for (const file of files) {
      const text = execFileSync("git", ["show", `${commit}:${file}`], { cwd: REPO_DIR });
      writeFileSync(join(src, file.slice("src/transport/".length)), text);
    }
    entry = join(src, "ws-reader.ts");
  }
  const module = await importTypeScript(entry);
  rmSync(dir, { recursive: true, force: true });
  return module;
}

function header(fin, opcode, length) {
  if (length < 126) return Uint8Array.of((fin ? 0x80 : 0) | opcode, length);
  if (length <= 0xffff) return Uint8Array.of((fin ? 0x80 : 0) | opcode, 126, length >> 8, length & 0xff);
  const h = new Uint8Array(10);
  h[0] = (fin ? 0x80 : 0) | opcode;
  h[1] = 127;
  new DataView(h.buffer).setUint32(6, length);
  return h;
}

function heap() {
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Runs `fill(keep)` and measures what the objects it keeps hold on the heap. */
function measure(fill) {
  const keep = [];
  const before = heap();
  let note = "";
  try {
    fill(keep);
  } catch (err) {
    note = `failed with ${err.closeCode ?? ""} ${err.message}`;
  }
  const after = heap();
  const held = after - before;
  return { held, keep, note };
}

const MiB = 1024 * 1024;
const fmt = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`;

function scenarios({ WsReader }) {
  const out = [];
  {
    const payload = 262_144;
    const r = measure((keep) => {
      const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
      keep.push(reader);
      for (const _ of reader.push(header(true, 2, payload))) void _;
      for (let i = 0; i < payload - 1; i++) for (const _ of reader.push(Uint8Array.of(i & 0xff))) void _;
    });
    out.push(["262,144 one-byte reads in one frame", `${(r.held / payload).toFixed(2)}× the payload`, r]);
  }
  {
    const r = measure((keep) => {
      const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
      keep.push(reader);
      const first = Uint8Array.of(0x01, 1, 0x61);
      const empty = Uint8Array.of(0x00, 0);
      for (const _ of reader.push(first)) void _;
      for (let i = 0; i < 131_073; i++) for (const _ of reader.push(empty)) void _;
    });
    out.push(["131,073 empty continuation frames after a 1-byte first fragment", "", r]);
  }
  {
    const connections = 1000;
    const r = measure((keep) => {
      for (let c = 0; c < connections; c++) {
        const reader = new WsReader({ role: "client", maxMessageBytes: 16 * MiB });
        keep.push(reader);
        const read = new Uint8Array(64 * 1024);
        read.set(header(false, 2, 10), 0);
        for (const _ of reader.push(read.subarray(0, 12))) void _;
      }
    });
    const perConnection = Math.round(r.held / connections);
    out.push([
      "1,000 readers, each with a 10-byte open message at the end of a 64 KiB read",
      `${perConnection} bytes per reader (reader included)`,
      r,
    ]);
  }
  return out;
}

const commit = process.argv[2];
const versions = [["work tree", await loadReader(null)]];
if (commit) versions.push([commit, await loadReader(commit)]);
for (const [name, module] of versions) {
  console.log(`\n== ${name}`);
  for (const [label, detail, { held, note }] of scenarios(module)) {
    console.log(`${label}: held ${fmt(held)}${detail ? `, ${detail}` : ""}${note ? `; ${note}` : ""}`);
  }
}

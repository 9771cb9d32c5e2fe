/**
 * Imports one of the project's TypeScript modules into plain Node for the bench. The test mocks and the sources import
 * each other without file extensions, which Node's own type stripping cannot resolve, so the entry is bundled once with
 * esbuild into a temporary ES module, imported, and the temporary file removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** Bundles `entry` (an absolute path to a .ts file) for Node and resolves with its exports. */
export async function importTypeScript(entry) {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-module-"));
  const outfile = join(dir, `${basename(entry, ".ts")}.mjs`);
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile,
      logLevel: "silent",
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Loads the project's Gemini mock (`test/mocks/gemini.mock.ts`, which plays the model from a known
 * ground-truth answer) into plain Node: its modules import each other without file extensions, which
 * Node's type stripping cannot resolve, so they are bundled once with esbuild (already installed with
 * wrangler) into a temporary ES module.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_DIR } from "./workerd.mjs";

// esbuild is not a direct dependency: resolve the copy wrangler itself uses, wherever npm placed it.
const wranglerRequire = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"));
const { build } = wranglerRequire("esbuild");

/** Starts a `GeminiMock` on 127.0.0.1; returns `{ port, url, mock, close() }`. */
export async function startGeminiMock() {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-gemini-mock-"));
  const outfile = join(dir, "gemini-mock.mjs");
  await build({
    entryPoints: [join(REPO_DIR, "test/mocks/gemini.mock.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    logLevel: "silent",
  });
  const { GeminiMock } = await import(pathToFileURL(outfile).href);
  rmSync(dir, { recursive: true, force: true });
  const mock = new GeminiMock();
  const port = await mock.listen();
  const url = `http://127.0.0.1:${port}`;
  return { port, url, mock, close: () => mock.close() };
}

/** Registers a scenario (README §3 of the mock); returns its id. */
export async function registerScenario(mockUrl, spec) {
  const res = await fetch(`${mockUrl}/__scenarios`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`scenario rejected: ${JSON.stringify(body)}`);
  return body.id;
}

/** The scenario's request log, waiting until every recorded response has ended (bounded). */
export async function scenarioRequests(mockUrl, id, { min = 1, timeoutMs = 5000 } = {}) {
  const res = await fetch(`${mockUrl}/__scenarios/${id}/requests?min=${min}&ended=1&timeoutMs=${timeoutMs}`);
  return (await res.json()).requests;
}

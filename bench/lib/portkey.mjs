/**
 * The Portkey AI gateway (open source, Node build) as a side of the bench, for issue 13's comparison
 * "Portkey beside us, same mock". It is not a dependency of this project: the bench installs one pinned
 * version on demand into the git-ignored `.tmp/portkey/` (reused when that version is already there)
 * and starts its own Node server (`build/start-server.js --port=N --headless`) with this process's Node.
 *
 * Portkey routes by headers: `x-portkey-provider: openai` picks its OpenAI provider, and
 * `x-portkey-custom-host` replaces the provider's base URL, so `POST /v1/chat/completions` goes to
 * `{custom host}/chat/completions` (its OpenAI provider's chat endpoint). Pointed at
 * `http://127.0.0.1:{mock}/json`, it reaches the same mock path as our routes' small JSON request.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, REPO_DIR } from "./workerd.mjs";

export const PORTKEY_VERSION = "1.15.2";
const PORTKEY_PACKAGE = "@portkey-ai/gateway";
const INSTALL_DIR = join(REPO_DIR, ".tmp/portkey");
const PACKAGE_DIR = join(INSTALL_DIR, "node_modules", PORTKEY_PACKAGE);
const SERVER_JS = join(PACKAGE_DIR, "build/start-server.js");
const INSTALL_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 3000;
/** What Portkey's `GET /` answers once its server listens. */
const READY_TEXT = "AI Gateway says hey!";

function installedVersion() {
  try {
    return JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/**
 * Makes the pinned Portkey available. Resolves `{ ok: true, installed }` (`installed`: whether this call
 * ran npm) or `{ ok: false, reason }` when npm failed (no registry, no npm): the bench then skips the side.
 */
export async function ensurePortkey(log) {
  if (installedVersion() === PORTKEY_VERSION && existsSync(SERVER_JS)) return { ok: true, installed: false };
  mkdirSync(INSTALL_DIR, { recursive: true });
  log(`installing ${PORTKEY_PACKAGE}@${PORTKEY_VERSION} into .tmp/portkey (once; not a project dependency)`);
  const args = [
    "install",
    "--prefix",
    INSTALL_DIR,
    "--no-save",
    "--no-audit",
    "--no-fund",
    `${PORTKEY_PACKAGE}@${PORTKEY_VERSION}`,
  ];
  // Under `npm run`, npm_execpath is the npm that runs us; run it with this Node.
  const npmCli = process.env.npm_execpath;
  const [cmd, argv] = npmCli?.endsWith(".js") ? [process.execPath, [npmCli, ...args]] : ["npm", args];
  const error = await new Promise((resolve) =>
    execFile(cmd, argv, { cwd: REPO_DIR, timeout: INSTALL_TIMEOUT_MS }, (err, _out, stderr) =>
      resolve(err ? npmErrorSummary(err, String(stderr)) : null),
    ),
  );
  if (error)
    return { ok: false, reason: `npm install ${PORTKEY_PACKAGE}@${PORTKEY_VERSION} failed: ${error}` };
  if (installedVersion() !== PORTKEY_VERSION || !existsSync(SERVER_JS)) {
    return { ok: false, reason: `npm install left no ${PORTKEY_PACKAGE}@${PORTKEY_VERSION} in .tmp/portkey` };
  }
  return { ok: true, installed: true };
}

/** npm's first error lines (its code and what it tried), not the whole log. */
function npmErrorSummary(err, stderr) {
  const lines = stderr
    .split("\n")
    .map((l) => l.replace(/^npm error\s*/, "").trim())
    .filter(Boolean);
  return lines.slice(0, 2).join("; ") || err.message.split("\n")[0];
}

async function waitReady(url, child, logTail) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Portkey exited (${child.exitCode}): ${logTail.join("")}`);
    try {
      const res = await fetch(url);
      if ((await res.text()) === READY_TEXT) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Portkey not ready after ${READY_TIMEOUT_MS} ms: ${logTail.join("")}`);
}

/**
 * Starts Portkey's Node server on a free loopback port. `upstreamBase` is the custom host its OpenAI
 * provider calls. Returns the side spec for the bench (`url` and `headers` of the small JSON request),
 * the server's pid (for its CPU time), its log tail and `stop()`.
 */
export async function startPortkey({ upstreamBase }) {
  const port = await freePort();
  // NODE_ENV=production and --headless: no log-viewer UI routes, as a server deployment runs it.
  const child = spawn(process.execPath, [SERVER_JS, `--port=${port}`, "--headless"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  const logTail = [];
  const keep = (chunk) => {
    logTail.push(chunk.toString("utf8"));
    if (logTail.length > 40) logTail.splice(0, logTail.length - 20);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}/`, child, logTail);
  } catch (error) {
    child.kill("SIGKILL");
    process.off("exit", killChild);
    throw error;
  }
  return {
    pid: child.pid,
    version: PORTKEY_VERSION,
    logTail,
    side: {
      url: `${base}/v1/chat/completions`,
      headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": upstreamBase },
    },
    async stop() {
      process.off("exit", killChild);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

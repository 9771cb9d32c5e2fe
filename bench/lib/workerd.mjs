/**
 * Runs the gateway under plain `workerd serve` (DESIGN §9): builds the Worker bundle with
 * `wrangler deploy --dry-run --outdir`, writes a capnp config next to it and starts the workerd
 * binary directly (not `wrangler dev`, whose extra layers add milliseconds to every request).
 *
 * One workerd process holds two workers: the gateway (its three SQLite-backed Durable Object
 * namespaces on local disk) and a bare pass-through Worker that is the floor of every measurement.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORKERD_BIN = join(REPO_DIR, "node_modules/.bin/workerd");
// Run with this process's Node (24 under `npm run`): the `wrangler` shim would pick whatever `node` is on PATH.
const WRANGLER_JS = join(REPO_DIR, "node_modules/wrangler/bin/wrangler.js");
/** The project's compatibility date and flags, read from wrangler.toml so the bench runs what deploys. */
function projectCompatibility() {
  const toml = readFileSync(join(REPO_DIR, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-10-01";
  const flagsText = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '"nodejs_compat"';
  const flags = [...flagsText.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return { date, flags };
}
const READY_TIMEOUT_MS = 20_000;
const DO_CLASSES = ["GeminiSession", "RelaySession", "TargetHealth", "StreamSession"];
const DO_BINDINGS = {
  GEMINI_SESSION: "GeminiSession",
  RELAY_SESSION: "RelaySession",
  TARGET_HEALTH: "TargetHealth",
  STREAM_SESSION: "StreamSession",
};

/**
 * The floor: forwards `/{port}/{rest}` to `http://127.0.0.1:{port}/{rest}` with one fetch, streaming
 * both bodies. It does nothing else, so (floor − direct) is what workerd itself costs.
 */
/**
 * The floor Worker. \`/{port}/{path}\`: a bare pass-through (one \`fetch\`, bodies as they are). \`/socket/{port}/{path}\`:
 * the least a Worker can do to send the same request over \`connect()\` (the socket floor): one request head and
 * body in one write with \`Connection: close\`, the whole answer read by the runtime until the upstream closes, its
 * status line and header lines split and handed back with the body, with no checks, timeouts or streaming at all.
 * The gateway's socket routes do strictly more (HTTP/1.1 framing checks, timeouts, streaming, fallback), so their
 * ratio to the socket floor is the cost of our code on that path, as the fetch floor's is on the fetch path.
 */
const FLOOR_WORKER = `import { connect } from "cloudflare:sockets";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function viaSocket(request, port, rest) {
  const body = new Uint8Array(await request.arrayBuffer());
  const type = request.headers.get("content-type");
  const head = encoder.encode(
    \`\${request.method} \${rest} HTTP/1.1\\r\\nhost: 127.0.0.1:\${port}\\r\\nconnection: close\\r\\n\` +
      (type ? \`content-type: \${type}\\r\\n\` : "") +
      \`content-length: \${body.byteLength}\\r\\n\\r\\n\`,
  );
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  const socket = connect({ hostname: "127.0.0.1", port: Number(port) });
  const writer = socket.writable.getWriter();
  await writer.write(out);
  writer.releaseLock();
  const raw = new Uint8Array(await new Response(socket.readable).arrayBuffer());
  let end = 0;
  while (end + 3 < raw.length && !(raw[end] === 13 && raw[end + 1] === 10 && raw[end + 2] === 13 && raw[end + 3] === 10)) end++;
  const lines = decoder.decode(raw.subarray(0, end)).split("\\r\\n");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    if (name !== "connection" && name !== "transfer-encoding") headers.append(name, line.slice(colon + 1).trim());
  }
  return new Response(raw.subarray(end + 4), { status: Number(lines[0].slice(9, 12)), headers });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const socket = url.pathname.startsWith("/socket/");
    const path = socket ? url.pathname.slice("/socket".length) : url.pathname;
    const slash = path.indexOf("/", 1);
    const port = path.slice(1, slash < 0 ? undefined : slash);
    const rest = slash < 0 ? "/" : path.slice(slash);
    if (socket) return viaSocket(request, port, \`\${rest}\${url.search}\`);
    return fetch(\`http://127.0.0.1:\${port}\${rest}\${url.search}\`, request);
  },
};
`;

/** A free loopback port (the OS picks it; a tiny race with other processes is acceptable here). */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Bundles the Worker exactly as `wrangler deploy` would, without uploading. Returns the bundle path. */
export function buildBundle(outDir, { minify = true } = {}) {
  // `--minify=false` keeps function names readable for CPU profiles (bench/profile.mjs).
  const extra = minify ? [] : ["--minify=false"];
  try {
    execFileSync(process.execPath, [WRANGLER_JS, "deploy", "--dry-run", "--outdir", outDir, ...extra], {
      cwd: REPO_DIR,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        PATH: `${join(REPO_DIR, "node_modules/.bin")}:${process.env.PATH}`,
        WRANGLER_SEND_METRICS: "false",
        CI: "1",
      },
    });
  } catch (error) {
    throw new Error(`wrangler deploy --dry-run failed:\n${error.stderr?.toString("utf8") ?? error.message}`);
  }
  return join(outDir, "index.js");
}

const capnpString = (value) => JSON.stringify(String(value));

/** The capnp text config; `vars` are the gateway's text bindings. workerd resolves `embed` paths relative to the config file. */
export function workerdConfig({
  configDir,
  bundlePath,
  floorPath,
  storageDir,
  gatewayPort,
  floorPort,
  vars,
  extraFlags = [],
  driver = null,
  trustedCaPem = null,
}) {
  const compat = projectCompatibility();
  const flags = [...new Set([...compat.flags, ...extraFlags])].map((f) => capnpString(f)).join(", ");
  const textBindings = Object.entries(vars)
    .map(([name, value]) => `    (name = ${capnpString(name)}, text = ${capnpString(value)}),`)
    .join("\n");
  const doBindings = Object.entries(DO_BINDINGS)
    .map(([name, cls]) => `    (name = "${name}", durableObjectNamespace = "${cls}"),`)
    .join("\n");
  const namespaces = DO_CLASSES.map(
    (cls) => `    (className = "${cls}", uniqueKey = "bench-${cls}", enableSql = true),`,
  ).join("\n");
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "floor", worker = .floor),
    # Sockets and fetch from both workers leave through this network: loopback must be allowed,
    # since every upstream in the bench is a mock on 127.0.0.1.
    (name = "internet", network = (allow = ["public", "private", "local"]${trustedCaPem ? `, tlsOptions = (trustedCertificates = [${capnpString(trustedCaPem)}])` : ""})),
    (name = "do-disk", disk = (path = ${capnpString(storageDir)}, writable = true)),${driver ? '\n    (name = "driver", worker = .driver),' : ""}
  ],
  sockets = [
    (name = "gateway", address = "127.0.0.1:${gatewayPort}", http = (), service = "gateway"),
    (name = "floor", address = "127.0.0.1:${floorPort}", http = (), service = "floor"),${driver ? `\n    (name = "driver", address = "127.0.0.1:${driver.port}", http = (), service = "driver"),` : ""}
  ],
);

const gateway :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${capnpString(relative(configDir, bundlePath))})],
  compatibilityDate = "${compat.date}",
  compatibilityFlags = [${flags}],
  bindings = [
${textBindings}
${doBindings}
  ],
  durableObjectNamespaces = [
${namespaces}
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  globalOutbound = "internet",
);

const floor :Workerd.Worker = (
  modules = [(name = "floor.js", esModule = embed ${capnpString(relative(configDir, floorPath))})],
  compatibilityDate = "${compat.date}",
  globalOutbound = "internet",
);
${
  driver
    ? `
# Bench-only driver (bench/scale-sim.mjs): calls the gateway's own TargetHealth objects.
const driver :Workerd.Worker = (
  modules = [(name = "driver.js", esModule = embed ${capnpString(relative(configDir, driver.path))})],
  compatibilityDate = "${compat.date}",
  compatibilityFlags = [${flags}],
  bindings = [
    (name = "TARGET_HEALTH", durableObjectNamespace = (className = "TargetHealth", serviceName = "gateway")),
  ],
);
`
    : ""
}`;
}

async function waitReady(url, child, stderr) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${stderr.join("")}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`workerd not ready after ${READY_TIMEOUT_MS} ms:\n${stderr.join("")}`);
}

/** Resident set size of a process in bytes (VmRSS), or null if it is gone. */
export function rssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `intervalMs`; `peak()` since the last `reset()`. */
export function rssSampler(pid, intervalMs = 25) {
  let peak = rssBytes(pid) ?? 0;
  const timer = setInterval(() => {
    const now = rssBytes(pid);
    if (now !== null && now > peak) peak = now;
  }, intervalMs);
  timer.unref();
  return {
    peak: () => Math.max(peak, rssBytes(pid) ?? 0),
    reset: () => {
      peak = rssBytes(pid) ?? 0;
    },
    stop: () => clearInterval(timer),
  };
}

/** workerd's version string, e.g. "workerd 2026-11-02". */
export function workerdVersion() {
  return execFileSync(WORKERD_BIN, ["--version"], { encoding: "utf8" }).trim();
}

/**
 * Builds, configures and starts workerd. `vars` go to the gateway as text bindings. Returns the
 * gateway and floor base URLs, the workerd pid, the captured log, and `stop()`.
 */
export async function startWorkerd({
  vars,
  quietLogs = true,
  extraFlags = [],
  driverPath = null,
  inspectorPort = null,
  trustedCaPem = null,
  minify = true,
}) {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-"));
  const bundlePath = buildBundle(join(dir, "bundle"), { minify });
  const floorPath = join(dir, "floor.js");
  writeFileSync(floorPath, FLOOR_WORKER);
  const storageDir = join(dir, "do");
  mkdirSync(storageDir);
  const gatewayPort = await freePort();
  const floorPort = await freePort();
  const driver = driverPath ? { path: driverPath, port: await freePort() } : null;
  const configPath = join(dir, "workerd.capnp");
  writeFileSync(
    configPath,
    workerdConfig({
      configDir: dir,
      bundlePath,
      floorPath,
      storageDir,
      gatewayPort,
      floorPort,
      vars,
      extraFlags,
      driver,
      trustedCaPem,
    }),
  );
  const inspector = inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [];
  const child = spawn(WORKERD_BIN, ["serve", configPath, "--experimental", ...inspector], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Never outlive the bench: a Ctrl-C or an early exit of this process takes workerd with it.
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  const onSignal = () => process.exit(130);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const log = [];
  const keep = (chunk) => {
    // The gateway logs one JSON line per request; keep only a bounded tail for error reports.
    log.push(chunk.toString("utf8"));
    if (log.length > 400) log.splice(0, log.length - 200);
    if (!quietLogs) process.stderr.write(chunk);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const floorUrl = `http://127.0.0.1:${floorPort}`;
  try {
    await waitReady(`${gatewayUrl}/healthz`, child, log);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    gatewayUrl,
    floorUrl,
    driverUrl: driver ? `http://127.0.0.1:${driver.port}` : null,
    pid: child.pid,
    dir,
    log,
    child,
    async stop() {
      process.off("exit", killChild);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

#!/usr/bin/env node
/**
 * `npm start`: the gateway on http://127.0.0.1:8787 under `wrangler dev` (workerd with local Durable
 * Object storage; no Cloudflare account). On first run it writes a random AUTH_TOKEN to `.dev.vars`
 * (git-ignored) so the generic proxy and /health work locally.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");
const port = process.env.PORT ?? "8787";
const host = process.env.HOST ?? "127.0.0.1";

let content = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
let token = /^AUTH_TOKEN\s*=\s*"?([^"\n]*)"?\s*$/m.exec(content)?.[1]?.trim() ?? "";
let generated = false;
if (!token) {
  token = randomBytes(24).toString("base64url");
  content = `${content}${content && !content.endsWith("\n") ? "\n" : ""}AUTH_TOKEN="${token}"\n`;
  writeFileSync(devVars, content, { mode: 0o600 });
  generated = true;
}

const origin = `http://${host}:${port}`;
console.log(`
  LLM gateway (local)
  Dashboard:      ${origin}/
  Presets:        ${origin}/openai/v1/chat/completions, ${origin}/gemini/v1beta/models, …
  Generic proxy:  ${origin}/<AUTH_TOKEN>/https/<host>/<path>
  Health JSON:    curl -H "x-proxy-token: <AUTH_TOKEN>" ${origin}/health
  AUTH_TOKEN:     ${generated ? "generated and written to" : "read from"} .dev.vars (edit it there; production: wrangler secret put AUTH_TOKEN)
`);

const child = spawn(
  "wrangler",
  ["dev", "--ip", host, "--port", port, "--show-interactive-dev-session=false", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);
child.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));

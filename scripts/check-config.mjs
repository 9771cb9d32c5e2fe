#!/usr/bin/env node
/**
 * `npm run check-config [-- --dir DIR] [--env NAME]`: checks the gateway's configuration before a deploy.
 *
 * Reads the variables the Worker would get, later sources winning: `[vars]` of `DIR/wrangler.toml`
 * (`[env.NAME.vars]` with `--env`, which replaces them as wrangler does), then `DIR/.dev.vars`, then the
 * process environment (only the variables the gateway reads). It runs the Worker's own parser on them:
 * `src/worker/config-check.ts` and what it imports are bundled with esbuild into memory and imported,
 * so there is no second copy of the rules. Prints every problem with its variable and path and exits 1,
 * or prints a one-line summary and exits 0. Values are never printed, only what the parser says.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, parseEnv } from "node:util";
import { build } from "esbuild";
import { parse as parseToml } from "smol-toml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

async function loadChecker() {
  const result = await build({
    entryPoints: [join(ROOT, "src/worker/config-check.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

function fail(message) {
  process.stderr.write(`check-config: ${message}\n`);
  process.exit(1);
}

function readSources(dir, envName) {
  const sources = [];
  const tomlPath = join(dir, "wrangler.toml");
  if (!existsSync(tomlPath)) fail(`${tomlPath} not found`);
  let toml;
  try {
    toml = parseToml(readFileSync(tomlPath, "utf8"));
  } catch (error) {
    fail(`wrangler.toml is not valid TOML: ${error.message}`);
  }
  if (envName !== undefined) {
    const env = toml.env?.[envName];
    if (env === undefined) fail(`wrangler.toml has no [env.${envName}]`);
    sources.push({ name: `wrangler.toml [env.${envName}.vars]`, values: env.vars ?? {} });
  } else {
    sources.push({ name: "wrangler.toml [vars]", values: toml.vars ?? {} });
  }
  const devVarsPath = join(dir, envName === undefined ? ".dev.vars" : `.dev.vars.${envName}`);
  const devVars = existsSync(devVarsPath) ? devVarsPath : join(dir, ".dev.vars");
  if (existsSync(devVars)) {
    sources.push({ name: devVars.slice(dir.length + 1), values: parseEnv(readFileSync(devVars, "utf8")) });
  }
  sources.push({ name: "environment", values: process.env });
  return sources;
}

const { values: args } = parseArgs({
  options: { dir: { type: "string", default: process.cwd() }, env: { type: "string" } },
});
const dir = resolve(args.dir);
const sources = readSources(dir, args.env);
const { checkConfig } = await loadChecker();
const { problems, summary } = checkConfig(sources);
if (problems.length > 0) {
  process.stderr.write(`check-config: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n`);
  for (const p of problems)
    process.stderr.write(`  ${p.path}: ${p.message}   [${p.variable} from ${p.source}]\n`);
  process.exit(1);
}
process.stdout.write(`${summary}\n`);

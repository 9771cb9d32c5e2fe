import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../transport/errors";
import { collectConfigProblems, GATEWAY_VARIABLES, parseConfig } from "./config";
import { checkConfig, layerSources } from "./config-check";

const BAD_ENDPOINTS = JSON.stringify({
  mygroq: {
    targets: [
      "https://api.groq.com/openai",
      "ftp://mirror.example.com",
      { url: "https://b.example", weight: 0 },
    ],
    transport: "pigeon",
  },
  other: { targets: [], colour: "red" },
});

describe("collectConfigProblems", () => {
  it("names every problem with its path, where parseConfig stops at the first", () => {
    const vars = { ENDPOINTS: BAD_ENDPOINTS, DEBUG_MODE: "maybe", GEMINI_ENGINE: "[]" };
    const { config, problems } = collectConfigProblems(vars);
    expect(config).toBeNull();
    expect(problems.map((p) => [p.variable, p.detail])).toEqual([
      ["ENDPOINTS.mygroq.targets[1]", "must be an http:// or https:// URL, got ftp:"],
      ["ENDPOINTS.mygroq.targets[2].weight", "must be a positive number, got 0"],
      ["ENDPOINTS.mygroq.transport", 'must be "socket" or "fetch", got "pigeon"'],
      ["ENDPOINTS.other", expect.stringMatching(/^unknown field "colour"/)],
      ["ENDPOINTS.other.targets", expect.stringMatching(/non-empty list/)],
      ["DEBUG_MODE", expect.stringMatching(/expected a boolean.*"maybe"/)],
      ["GEMINI_ENGINE", "must be a JSON object"],
    ]);
    // The Worker's behaviour is unchanged: the first problem, thrown, with the message it always had.
    expect(() => parseConfig(vars)).toThrow(
      new ConfigError("ENDPOINTS.mygroq.targets[1]", "must be an http:// or https:// URL, got ftp:"),
    );
  });

  it("returns the same configuration as parseConfig when there is no problem", () => {
    const vars = {
      ENDPOINTS: JSON.stringify({ mygroq: "https://api.groq.com/openai" }),
      AUTH_TOKEN: "t0k3n",
    };
    const { config, problems } = collectConfigProblems(vars);
    expect(problems).toEqual([]);
    expect(config).toEqual(parseConfig(vars));
  });
});

describe("checkConfig", () => {
  it("layers sources, later wins, and takes only the gateway's variables", () => {
    const { vars, origin } = layerSources([
      { name: "toml", values: { DEBUG_MODE: "false", ENDPOINTS: "{}" } },
      { name: ".dev.vars", values: { DEBUG_MODE: "true" } },
      { name: "environment", values: { ENDPOINTS: '{"a":"https://a.example"}', PATH: "/bin" } },
    ]);
    expect(vars).toEqual({ DEBUG_MODE: "true", ENDPOINTS: '{"a":"https://a.example"}' });
    expect(origin).toEqual({ DEBUG_MODE: ".dev.vars", ENDPOINTS: "environment" });
  });

  it("says which source each problem's variable came from and never prints the token", () => {
    const token = "sekrit-token-0123";
    const result = checkConfig([
      {
        name: "wrangler.toml [vars]",
        values: { ENDPOINTS: JSON.stringify({ x: `${token}.example` }) },
      },
      { name: ".dev.vars", values: { AUTH_TOKEN: token, PRESET_AUTH_ENABLED: token } },
    ]);
    expect(result.summary).toBeNull();
    expect(result.problems.map((p) => [p.path, p.source])).toEqual([
      ["ENDPOINTS.x.targets[0]", "wrangler.toml [vars]"],
      ["PRESET_AUTH_ENABLED", ".dev.vars"],
    ]);
    expect(result.problems[0]!.message).toMatch(/^not an absolute URL: "\[redacted\]\.example"$/);
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it("summarises endpoints, targets and what needs the token", () => {
    const endpoints = JSON.stringify({ mygroq: ["https://a.example", "https://b.example"] });
    const open = checkConfig([{ name: "toml", values: { ENDPOINTS: endpoints } }]);
    expect(open.problems).toEqual([]);
    expect(open.summary).toMatch(
      /^config ok: \d+ endpoints \(1 from ENDPOINTS\), \d+ targets; AUTH_TOKEN is not set/,
    );
    const locked = checkConfig([
      { name: "toml", values: { ENDPOINTS: endpoints, PRESET_AUTH_ENABLED: "on" } },
      { name: "env", values: { AUTH_TOKEN: "t0k3n-t0k3n" } },
    ]);
    expect(locked.summary).toMatch(
      /the token is required by \/health, \/metrics, the generic proxy, every preset/,
    );
    const missing = checkConfig([{ name: "toml", values: { PRESET_AUTH_ENABLED: "on" } }]);
    expect(missing.summary).toMatch(
      /AUTH_TOKEN is not set, but every preset \(PRESET_AUTH_ENABLED\) need it/,
    );
  });
});

describe("npm run check-config (the script, spawned on fixture directories)", () => {
  const run = promisify(execFile);
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function fixture(toml: string, devVars?: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "check-config-"));
    dirs.push(dir);
    await writeFile(join(dir, "wrangler.toml"), toml);
    if (devVars !== undefined) await writeFile(join(dir, ".dev.vars"), devVars);
    return dir;
  }

  /** Runs the script with an environment holding none of the gateway's variables, plus `env`. */
  async function checkConfigIn(dir: string, env: Record<string, string> = {}) {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !(GATEWAY_VARIABLES as readonly string[]).includes(k)),
    );
    try {
      const { stdout, stderr } = await run(process.execPath, ["scripts/check-config.mjs", "--dir", dir], {
        env: { ...clean, ...env } as NodeJS.ProcessEnv,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it("exits 0 with a one-line summary for a good configuration", async () => {
    const dir = await fixture(
      `name = "gw"\n[vars]\nDEBUG_MODE = "false"\nENDPOINTS = '{"mygroq": ["https://api.groq.com/openai"]}'\n`,
      "AUTH_TOKEN=local-token-0123\n",
    );
    const result = await checkConfigIn(dir);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(
      /^config ok: \d+ endpoints \(1 from ENDPOINTS\), \d+ targets; the token is required by/,
    );
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(result.stdout).not.toContain("local-token-0123");
  }, 30_000);

  it("exits 1 and prints every problem with its variable and path", async () => {
    const dir = await fixture(`name = "gw"\n[vars]\nDEBUG_MODE = "maybe"\nENDPOINTS = '${BAD_ENDPOINTS}'\n`);
    const result = await checkConfigIn(dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    for (const path of [
      "ENDPOINTS.mygroq.targets[1]:",
      "ENDPOINTS.mygroq.targets[2].weight:",
      "ENDPOINTS.mygroq.transport:",
      "ENDPOINTS.other:",
      "ENDPOINTS.other.targets:",
      "DEBUG_MODE:",
    ]) {
      expect(result.stderr).toContain(path);
    }
    expect(result.stderr).toMatch(/6 problems/);
  }, 30_000);

  it("reads [vars], then .dev.vars, then the environment, later winning", async () => {
    const dir = await fixture(`name = "gw"\n[vars]\nDEBUG_MODE = "maybe"\n`, "DEBUG_MODE=true\n");
    expect((await checkConfigIn(dir)).code).toBe(0); // .dev.vars fixes [vars]
    const broken = await checkConfigIn(dir, { DEBUG_MODE: "nope" }); // the environment breaks it again
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/DEBUG_MODE: .*"nope".*from environment/);
  }, 30_000);

  it("refuses a wrangler.toml that is not TOML", async () => {
    const dir = await fixture(`name = "gw"\n[vars\n`);
    const result = await checkConfigIn(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wrangler\.toml is not valid TOML/);
  }, 30_000);
});

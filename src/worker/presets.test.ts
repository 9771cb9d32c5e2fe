import { describe, expect, it } from "vitest";
import { BUILTIN_PRESETS, CLOUDFLARE_CONFIDENCE, type PresetDefinition } from "./presets";

const SEED_NAMES = [
  "discord",
  "telegram",
  "openai",
  "claude",
  "gemini",
  "cerebras",
  "chutes",
  "cohere",
  "deepinfra",
  "fireworks",
  "friendli",
  "github",
  "groq",
  "huggingface",
  "meta",
  "novita",
  "openrouter",
  "poe",
  "portkey",
  "sambanova",
  "targon",
  "together",
  "xai",
] as const;

/** Seed names intentionally not shipped, each with the reason (none today). */
const DROPPED_SEED_NAMES: Record<string, string> = {};

function byName(name: string): PresetDefinition {
  const preset = BUILTIN_PRESETS.find((p) => p.name === name);
  if (preset === undefined) throw new Error(`no preset ${name}`);
  return preset;
}

/** What the router does: `/{name}{rest}` → `{target}{rest}`. */
function mapped(name: string, rest: string): string {
  return `${byName(name).targets[0]}${rest}`;
}

describe("BUILTIN_PRESETS", () => {
  it("has at least 30 unique names", () => {
    const names = BUILTIN_PRESETS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  it("uses lowercase URL-safe names that cannot collide with gateway routes", () => {
    const reserved = new Set(["health", "healthz", "sessions", "http", "https", "ws", "wss"]);
    for (const { name } of BUILTIN_PRESETS) {
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(encodeURIComponent(name)).toBe(name);
      expect(reserved.has(name)).toBe(false);
    }
  });

  it("has https targets without trailing slash, query or credentials", () => {
    for (const preset of BUILTIN_PRESETS) {
      expect(preset.targets.length).toBeGreaterThan(0);
      expect(preset.displayName.trim()).not.toBe("");
      for (const target of preset.targets) {
        const url = new URL(target);
        expect(url.protocol).toBe("https:");
        expect(target.endsWith("/")).toBe(false);
        expect(url.search).toBe("");
        expect(url.hash).toBe("");
        expect(url.username + url.password).toBe("");
        expect(url.port).toBe("");
        // The string is already in canonical form, so joining stays byte-exact.
        expect(url.href.replace(/\/$/, "")).toBe(target);
      }
    }
  });

  it("uses only the two transports and marks only gemini as a Gemini endpoint", () => {
    for (const preset of BUILTIN_PRESETS) {
      expect(["socket", "fetch"]).toContain(preset.transport);
    }
    expect(BUILTIN_PRESETS.filter((p) => p.gemini === true).map((p) => p.name)).toEqual(["gemini"]);
  });

  it("resolves every alias to a non-alias preset with the same targets and transport", () => {
    const aliases = BUILTIN_PRESETS.filter((p) => p.aliasOf !== undefined);
    expect(aliases.map((p) => p.name)).toEqual(expect.arrayContaining(["anthropic"]));
    for (const alias of aliases) {
      const canonical = byName(alias.aliasOf!);
      expect(canonical.aliasOf).toBeUndefined();
      expect(alias.targets).toEqual(canonical.targets);
      expect(alias.transport).toBe(canonical.transport);
    }
    expect(byName("anthropic").aliasOf).toBe("claude");
  });

  it("covers each of the seed's 23 names (or documents why one was dropped)", () => {
    const names = new Set(BUILTIN_PRESETS.map((p) => p.name));
    expect(SEED_NAMES).toHaveLength(23);
    for (const name of SEED_NAMES) {
      if (names.has(name)) continue;
      expect(DROPPED_SEED_NAMES[name], `seed name ${name} missing without a reason`).toBeTruthy();
    }
  });

  it("includes the providers users expect next", () => {
    const names = new Set(BUILTIN_PRESETS.map((p) => p.name));
    for (const name of [
      "anthropic",
      "mistral",
      "deepseek",
      "perplexity",
      "moonshot",
      "zhipu",
      "dashscope",
      "qwen",
      "siliconflow",
      "nvidia",
    ]) {
      expect(names.has(name), name).toBe(true);
    }
  });

  it("maps documented URLs exactly", () => {
    expect(mapped("openai", "/v1/chat/completions")).toBe("https://api.openai.com/v1/chat/completions");
    expect(mapped("claude", "/v1/messages")).toBe("https://api.anthropic.com/v1/messages");
    expect(mapped("anthropic", "/v1/messages")).toBe("https://api.anthropic.com/v1/messages");
    expect(mapped("gemini", "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse")).toBe(
      "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
    );
    expect(mapped("groq", "/v1/chat/completions")).toBe("https://api.groq.com/openai/v1/chat/completions");
    expect(mapped("openrouter", "/v1/chat/completions")).toBe(
      "https://openrouter.ai/api/v1/chat/completions",
    );
    expect(mapped("fireworks", "/v1/chat/completions")).toBe(
      "https://api.fireworks.ai/inference/v1/chat/completions",
    );
    expect(mapped("deepinfra", "/v1/openai/chat/completions")).toBe(
      "https://api.deepinfra.com/v1/openai/chat/completions",
    );
    expect(mapped("cohere", "/v2/chat")).toBe("https://api.cohere.com/v2/chat");
    expect(mapped("github", "/inference/chat/completions")).toBe(
      "https://models.github.ai/inference/chat/completions",
    );
    expect(mapped("huggingface", "/v1/chat/completions")).toBe(
      "https://router.huggingface.co/v1/chat/completions",
    );
    expect(mapped("meta", "/v1/chat/completions")).toBe("https://api.llama.com/v1/chat/completions");
    expect(mapped("poe", "/v1/chat/completions")).toBe("https://api.poe.com/v1/chat/completions");
    expect(mapped("chutes", "/v1/chat/completions")).toBe("https://llm.chutes.ai/v1/chat/completions");
    expect(mapped("friendli", "/serverless/v1/chat/completions")).toBe(
      "https://api.friendli.ai/serverless/v1/chat/completions",
    );
    expect(mapped("novita", "/openai/v1/chat/completions")).toBe(
      "https://api.novita.ai/openai/v1/chat/completions",
    );
    expect(mapped("zhipu", "/api/paas/v4/chat/completions")).toBe(
      "https://open.bigmodel.cn/api/paas/v4/chat/completions",
    );
    expect(mapped("dashscope", "/compatible-mode/v1/chat/completions")).toBe(
      "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    );
    expect(mapped("discord", "/v10/users/@me")).toBe("https://discord.com/api/v10/users/@me");
    expect(mapped("telegram", "/bot123:abc/getMe")).toBe("https://api.telegram.org/bot123:abc/getMe");
  });

  it("marks providers known to sit behind Cloudflare as fetch and Google as socket", () => {
    for (const name of ["openai", "claude", "anthropic", "groq", "openrouter", "portkey", "discord"]) {
      expect(byName(name).transport, name).toBe("fetch");
    }
    expect(byName("gemini").transport).toBe("socket");
    expect(byName("telegram").transport).toBe("socket");
  });

  it("states a confidence only for presets that exist, consistent with their transport", () => {
    for (const [name, verdict] of Object.entries(CLOUDFLARE_CONFIDENCE)) {
      const preset = byName(name);
      expect(verdict.startsWith(`${preset.transport},`), name).toBe(true);
    }
  });
});

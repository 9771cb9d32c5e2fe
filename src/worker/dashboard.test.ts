import { describe, expect, it } from "vitest";
import { type GatewayVars, parseConfig } from "./config";
import type { GatewayContext } from "./context";
import { contentSecurityPolicy, createNonce, dashboardLanguage, renderDashboard } from "./dashboard";
import { escapeHtml, jsonForScript, renderCode } from "./dashboard-html";
import { pickLanguage, STRINGS, t } from "./dashboard-i18n";
import { buildDashboardModel } from "./dashboard-model";
import { DASHBOARD_SCRIPT } from "./dashboard-script";
import { buildUsageExamples, HTTP_ORIGIN, WS_ORIGIN } from "./dashboard-usage";

const HOSTILE = `<script>alert(1)</script>`;

function context(
  vars: GatewayVars,
  url = "http://127.0.0.1:8787/",
  headers: HeadersInit = {},
): GatewayContext {
  return {
    raw: new Request(url, { headers }),
    url: new URL(url),
    config: parseConfig(vars),
    requestId: "req-1",
    log: {},
  } as unknown as GatewayContext;
}

async function render(vars: GatewayVars, url?: string, headers?: HeadersInit) {
  const response = renderDashboard(context(vars, url, headers), "TESTNONCE123");
  return { response, html: await response.text() };
}

describe("escaping", () => {
  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });

  it("keeps JSON for a script block unable to close it, and round-trips", () => {
    const value = { name: "</script><script>alert(1)</script>", sep: "\u2028<!--" };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/<\/?script|<!--/i);
    expect(JSON.parse(json)).toEqual(value);
  });

  it("renders a hostile ENDPOINTS display name as inert text", async () => {
    const { html } = await render({
      ENDPOINTS: JSON.stringify({ evil: { targets: "https://evil.example.com", displayName: HOSTILE } }),
    });
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // Only the page's own two script elements: the JSON data block and the nonce'd script.
    expect(html.match(/<script/gi)).toHaveLength(2);
    expect(html).toContain(`<script type="application/json" id="dashboard-data">`);
  });

  it("escapes example code and turns origin markers into refreshable spans", () => {
    const html = renderCode(`curl ${HTTP_ORIGIN}/a?x=<1>&y\nwscat ${WS_ORIGIN}/b`, "http://h:1");
    expect(html).toBe(
      `curl <span class="origin" data-origin="http">http://h:1</span>/a?x=&lt;1&gt;&amp;y\n` +
        `wscat <span class="origin" data-origin="ws">ws://h:1</span>/b`,
    );
  });
});

describe("renderDashboard", () => {
  it("sends a nonce CSP that allows only same-origin connections, and the nonce on style and script", async () => {
    const { response, html } = await render({});
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toBe(contentSecurityPolicy("TESTNONCE123"));
    expect(csp).toContain("script-src 'nonce-TESTNONCE123'");
    expect(csp).toContain("style-src 'nonce-TESTNONCE123'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(html).toContain(`<style nonce="TESTNONCE123">`);
    expect(html).toContain(`<script nonce="TESTNONCE123">`);
    // No external asset of any kind.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("draws a fresh nonce per response", () => {
    const a = renderDashboard(context({}));
    const b = renderDashboard(context({}));
    expect(a.headers.get("content-security-policy")).not.toBe(b.headers.get("content-security-policy"));
    expect(createNonce((bytes) => bytes.fill(255))).toBe("/////////////////////w==");
  });

  it("never puts the token in the page, only whether it is set", async () => {
    const token = "tok-9f8e7d6c5b4a";
    const { html } = await render({ AUTH_TOKEN: token });
    expect(html).not.toContain(token);
    expect(html).toMatch(/data-variable="AUTH_TOKEN".*?class="effective"[^>]*><span data-i18n="set">set</);
    const unset = await render({});
    expect(unset.html).toMatch(
      /data-variable="AUTH_TOKEN".*?class="effective"[^>]*><span data-i18n="unset">/,
    );
  });

  it("shows target hosts, not base paths that might carry account ids", async () => {
    const { html } = await render({
      ENDPOINTS: JSON.stringify({ mirror: "https://mirror.example.com:8443/acct-123456/v1" }),
    });
    expect(html).toContain("<code>mirror.example.com:8443</code>");
    expect(html).not.toContain("acct-123456");
  });

  it("builds the card URL from the request origin, port included", async () => {
    const { html } = await render({}, "http://127.0.0.1:8787/");
    expect(html).toContain(
      `<code class="url"><span class="origin" data-origin="http">http://127.0.0.1:8787</span><wbr>/openai</code>`,
    );
    expect(html).toContain(`data-copy-path="/openai"`);
  });

  it("renders in Chinese for a Chinese Accept-Language, or for ?lang=zh", async () => {
    const zh = await render({}, "http://h/", { "accept-language": "zh-CN,zh;q=0.9,en;q=0.8" });
    expect(zh.html).toContain(`<html lang="zh-CN">`);
    expect(zh.html).toContain(`<h1><span data-i18n="title">LLM 网关</span></h1>`);
    const forced = await render({}, "http://h/?lang=zh", { "accept-language": "en" });
    expect(forced.html).toContain(`<html lang="zh-CN">`);
    const en = await render({}, "http://h/", { "accept-language": "en-GB" });
    expect(en.html).toContain(`<html lang="en">`);
  });
});

describe("pickLanguage", () => {
  it.each([
    [null, "en"],
    ["", "en"],
    ["de-DE,fr;q=0.8", "en"],
    ["zh-CN,zh;q=0.9,en;q=0.8", "zh"],
    ["en-US,zh;q=0.5", "en"],
    ["fr,zh-Hant-TW;q=0.3", "zh"],
    ["zh;q=0,en;q=0.1", "en"],
    ["en;q=0.4, zh-TW;q=0.6", "zh"],
  ] as const)("%s → %s", (header, lang) => {
    expect(pickLanguage(header)).toBe(lang);
  });

  it("lets ?lang override the header and ignores unknown values", () => {
    expect(dashboardLanguage(new URL("http://h/?lang=en"), "zh-CN")).toBe("en");
    expect(dashboardLanguage(new URL("http://h/?lang=xx"), "zh-CN")).toBe("zh");
  });
});

describe("model", () => {
  it("marks ENDPOINTS additions and replacements, drops removals, lists overrides first", () => {
    const model = buildDashboardModel(
      parseConfig({
        ENDPOINTS: JSON.stringify({
          openai: { targets: ["http://127.0.0.1:9001", { url: "http://127.0.0.1:9002", weight: 3 }] },
          zzz: { targets: "https://z.example.com", transport: "fetch", gemini: true },
          meta: null,
        }),
      }),
    );
    expect(model.endpoints.slice(0, 2).map((e) => e.name)).toEqual(["openai", "zzz"]);
    expect(model.endpoints.some((e) => e.name === "meta")).toBe(false);
    const openai = model.endpoints[0]!;
    expect(openai).toMatchObject({
      overridden: true,
      hosts: ["127.0.0.1:9001", "127.0.0.1:9002"],
      weights: [1, 3],
      note: null,
    });
    const gemini = model.endpoints.find((e) => e.name === "gemini")!;
    expect(gemini).toMatchObject({ overridden: false, gemini: true, transport: "socket" });
    const alias = model.endpoints.find((e) => e.name === "anthropic")!;
    expect(alias.aliasOf).toBe("claude");
    expect(model.config.find((r) => r.variable === "ENDPOINTS")?.effective).toEqual({
      key: "endpointsEffective",
      args: { n: 2 },
    });
  });

  it("lists every variable with default and effective value", () => {
    const model = buildDashboardModel(
      parseConfig({ DEBUG_MODE: "yes", GEMINI_RETRY_PROMPT_JA: "続けて", ALLOW_PRIVATE_TARGETS: "on" }),
    );
    expect(model.config.map((r) => r.variable)).toEqual([
      "AUTH_TOKEN",
      "PRESET_AUTH_ENABLED",
      "GEMINI_SPECIAL_HANDLING_ENABLED",
      "DEBUG_MODE",
      "AGGRESSIVE_FALLBACK",
      "ALLOW_PRIVATE_TARGETS",
      "STREAM_REPAIR_ENABLED",
      "GEMINI_RETRY_PROMPT_CN",
      "GEMINI_RETRY_PROMPT_EN",
      "GEMINI_RETRY_PROMPT_JA",
      "GEMINI_RETRY_PROMPT_KO",
      "GEMINI_ENGINE",
      "STREAM_GUARD",
      "STREAM_REPAIR",
      "REQUEST_LOG",
      "HEALTH_SHARDING",
      "ENDPOINTS",
    ]);
    const row = (name: string) => model.config.find((r) => r.variable === name)!;
    expect(row("DEBUG_MODE")).toMatchObject({
      defaultValue: { text: "false" },
      effective: { text: "true" },
      changed: true,
    });
    expect(row("AGGRESSIVE_FALLBACK")).toMatchObject({ effective: { text: "true" }, changed: false });
    expect(row("GEMINI_RETRY_PROMPT_JA")).toMatchObject({ effective: { key: "custom" }, changed: true });
    expect(row("GEMINI_RETRY_PROMPT_KO")).toMatchObject({ effective: { key: "builtIn" }, changed: false });
    expect(row("STREAM_GUARD")).toMatchObject({ effective: { key: "builtIn" }, changed: false });
    const guard = buildDashboardModel(parseConfig({ STREAM_GUARD: '{"holdMs":5000}' }));
    expect(guard.config.find((r) => r.variable === "STREAM_GUARD")).toMatchObject({
      effective: { key: "custom" },
      changed: true,
    });
    expect(row("STREAM_REPAIR_ENABLED")).toMatchObject({ effective: { text: "false" }, changed: false });
    expect(row("REQUEST_LOG")).toMatchObject({
      defaultValue: { text: "all" },
      effective: { text: "all" },
      changed: false,
    });
    const quiet = buildDashboardModel(parseConfig({ REQUEST_LOG: "Errors", HEALTH_SHARDING: "off" }));
    expect(quiet.config.find((r) => r.variable === "REQUEST_LOG")).toMatchObject({
      effective: { text: "errors" },
      changed: true,
    });
    expect(quiet.config.find((r) => r.variable === "HEALTH_SHARDING")).toMatchObject({
      defaultValue: { text: "region" },
      effective: { text: "off" },
      changed: true,
    });
    const repair = buildDashboardModel(
      parseConfig({ STREAM_REPAIR_ENABLED: "on", STREAM_REPAIR: '{"graceMs":1}' }),
    );
    expect(repair.config.find((r) => r.variable === "STREAM_REPAIR_ENABLED")).toMatchObject({
      effective: { text: "true" },
      changed: true,
    });
    expect(repair.config.find((r) => r.variable === "STREAM_REPAIR")).toMatchObject({
      effective: { key: "custom" },
      changed: true,
    });
    expect(model.warnings.map((w) => w.key)).toEqual([
      "warnNoToken",
      "warnPresetsPublic",
      "warnPrivate",
      "warnDebug",
    ]);
  });

  it("has no warnings for a locked-down gateway", () => {
    const model = buildDashboardModel(parseConfig({ AUTH_TOKEN: "t", PRESET_AUTH_ENABLED: "true" }));
    expect(model.warnings).toEqual([]);
  });
});

describe("usage examples", () => {
  it("adds the proxy token header when presets require it", () => {
    const locked = buildUsageExamples(
      buildDashboardModel(parseConfig({ AUTH_TOKEN: "t", PRESET_AUTH_ENABLED: "true" })),
    );
    expect(locked.map((e) => e.id)).toEqual(["curl", "openai", "genai", "anthropic", "generic", "websocket"]);
    for (const id of ["curl", "openai", "genai", "anthropic"]) {
      expect(locked.find((e) => e.id === id)?.code).toContain("x-proxy-token");
      expect(locked.find((e) => e.id === id)?.note).toBe("usageTokenNote");
    }
    const open = buildUsageExamples(buildDashboardModel(parseConfig({ AUTH_TOKEN: "t" })));
    expect(open.find((e) => e.id === "openai")?.code).not.toContain("x-proxy-token");
    expect(open.find((e) => e.id === "openai")?.code).toContain(`baseURL: "${HTTP_ORIGIN}/openai/v1"`);
    expect(open.find((e) => e.id === "genai")?.code).toContain(`baseUrl: "${HTTP_ORIGIN}/gemini"`);
    expect(open.find((e) => e.id === "websocket")?.code).toContain(`${WS_ORIGIN}/gemini/ws/`);
  });

  it("follows removed presets and flags the disabled generic proxy", () => {
    const examples = buildUsageExamples(
      buildDashboardModel(parseConfig({ ENDPOINTS: JSON.stringify({ openai: null, claude: null }) })),
    );
    expect(examples.map((e) => e.id)).toEqual(["genai", "anthropic", "generic", "websocket"]);
    expect(examples.find((e) => e.id === "anthropic")?.code).toContain(`${HTTP_ORIGIN}/anthropic`);
    expect(examples.find((e) => e.id === "generic")?.note).toBe("usageGenericOff");
  });
});

describe("strings and client script", () => {
  it("has every string in both languages", () => {
    for (const key of Object.keys(STRINGS.en) as (keyof typeof STRINGS.en)[]) {
      expect(STRINGS.zh[key], key).toBeTruthy();
    }
    expect(t("en", "endpointsEffective", { n: 3 })).toBe("3 overrides");
    expect(t("en", "featGenericD")).toContain("/{token}/https/{host}/{path}");
  });

  it("is a parseable script that only talks to /health", () => {
    expect(() => new Function(DASHBOARD_SCRIPT)).not.toThrow();
    expect(DASHBOARD_SCRIPT.match(/fetch\(/g)).toHaveLength(1);
    expect(DASHBOARD_SCRIPT).toContain(`fetch("/health"`);
    expect(DASHBOARD_SCRIPT).not.toContain("innerHTML");
  });
});

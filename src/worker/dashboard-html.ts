/**
 * The dashboard page as one HTML string (pure). Every configured value passes through `escapeHtml`;
 * the inline style and script carry the response's CSP nonce; data for the client script travels in
 * a JSON block whose `<` are escaped so no value can close the element.
 */
import { type Lang, STRINGS, type StringKey, t } from "./dashboard-i18n";
import type { ConfigValue, DashboardModel, EndpointCard } from "./dashboard-model";
import { DASHBOARD_SCRIPT } from "./dashboard-script";
import { DASHBOARD_STYLE } from "./dashboard-style";
import { HTTP_ORIGIN, type UsageExample, WS_ORIGIN } from "./dashboard-usage";

export interface PageOptions {
  lang: Lang;
  /** Base64 CSP nonce of this response. */
  nonce: string;
  /** The request's origin, e.g. `http://127.0.0.1:8787`; the client refreshes it from `location`. */
  origin: string;
  /** Milliseconds between `/health` polls. */
  pollIntervalMs: number;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for element content and for quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON safe inside `<script type="application/json">`: `<` cannot start `</script>` or `<!--`, and
 * U+2028/2029 are escaped for older parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A translated text node the client can re-translate in place. */
function tr(lang: Lang, key: StringKey, args?: Record<string, number>): string {
  const argAttr = args ? ` data-i18n-args="${escapeHtml(JSON.stringify(args))}"` : "";
  return `<span data-i18n="${key}"${argAttr}>${escapeHtml(t(lang, key, args))}</span>`;
}

function originSpan(kind: "http" | "ws", origin: string): string {
  const value = kind === "ws" ? origin.replace(/^http/, "ws") : origin;
  return `<span class="origin" data-origin="${kind}">${escapeHtml(value)}</span>`;
}

/** Escapes example code, then turns origin markers into refreshable spans. */
export function renderCode(code: string, origin: string): string {
  return escapeHtml(code)
    .split(HTTP_ORIGIN)
    .join(originSpan("http", origin))
    .split(WS_ORIGIN)
    .join(originSpan("ws", origin));
}

function copyButton(lang: Lang, attrs: string): string {
  return `<button type="button" class="copy" ${attrs}>${tr(lang, "copy")}</button>`;
}

export function renderCard(card: EndpointCard, lang: Lang, origin: string): string {
  const path = `/${card.name}`;
  const search = [card.name, card.displayName, ...card.hosts].join(" ").toLowerCase();
  const badges = [
    `<span class="badge transport-${card.transport}">${tr(lang, card.transport === "fetch" ? "transportFetch" : "transportSocket")}</span>`,
    card.gemini ? `<span class="badge gemini">${tr(lang, "gemini")}</span>` : "",
    card.overridden
      ? `<span class="badge overridden" data-i18n-title="overriddenHint" title="${escapeHtml(t(lang, "overriddenHint"))}">${tr(lang, "overridden")}</span>`
      : "",
  ].join("");
  const multi = card.hosts.length > 1;
  const hosts = card.hosts
    .map(
      (host, i) =>
        `<li><code>${escapeHtml(host)}</code>${multi ? ` <span class="weight">×${escapeHtml(String(card.weights[i] ?? 1))}</span>` : ""}</li>`,
    )
    .join("");
  const alias = card.aliasOf
    ? `<p class="alias">${tr(lang, "aliasOf")} <code>/${escapeHtml(card.aliasOf)}</code></p>`
    : "";
  const note = card.note
    ? `<p class="note" title="${escapeHtml(card.note)}">${escapeHtml(card.note)}</p>`
    : "";
  return (
    `<article class="card${card.overridden ? " is-overridden" : ""}" data-endpoint="${escapeHtml(card.name)}" data-search="${escapeHtml(search)}">` +
    `<div class="card-head"><h3 class="display-name">${escapeHtml(card.displayName)}</h3><code class="route">${escapeHtml(path)}</code></div>` +
    `<div class="badges">${badges}</div>` +
    `<ul class="hosts" aria-label="targets">${hosts}</ul>${alias}${note}` +
    `<div class="url-row"><code class="url">${originSpan("http", origin)}<wbr>${escapeHtml(path)}</code>` +
    copyButton(lang, `data-copy-path="${escapeHtml(path)}"`) +
    `</div></article>`
  );
}

function configValue(lang: Lang, value: ConfigValue): string {
  return "key" in value ? tr(lang, value.key, value.args) : `<code>${escapeHtml(value.text)}</code>`;
}

const FEATURES: [StringKey, StringKey, string][] = [
  ["featPresetsT", "featPresetsD", "M4 6h16M4 12h16M4 18h10"],
  ["featGenericT", "featGenericD", "M4 12h12M12 6l6 6-6 6"],
  ["featEgressT", "featEgressD", "M12 3l8 4v5c0 5-3.5 8-8 9-4.5-1-8-4-8-9V7z"],
  ["featFailoverT", "featFailoverD", "M4 7h10l-3-3M20 17H10l3 3"],
  ["featGeminiT", "featGeminiD", "M12 3c1 5 4 8 9 9-5 1-8 4-9 9-1-5-4-8-9-9 5-1 8-4 9-9z"],
  ["featWsT", "featWsD", "M5 9h14M5 15h14M9 5l-2 14M17 5l-2 14"],
];

const icon = (d: string) => `<svg viewBox="0 0 24 24" aria-hidden="true" class="icon"><path d="${d}"/></svg>`;

export function renderPage(model: DashboardModel, examples: UsageExample[], opts: PageOptions): string {
  const { lang, nonce, origin } = opts;
  const n = escapeHtml(nonce);
  const warnings = model.warnings
    .map((w) => `<div class="alert alert-${w.level}" role="note">${tr(lang, w.key)}</div>`)
    .join("");
  const features = FEATURES.map(
    ([title, desc, path]) =>
      `<div class="feature">${icon(path)}<div><h3>${tr(lang, title)}</h3><p>${tr(lang, desc)}</p></div></div>`,
  ).join("");
  const cards = model.endpoints.map((card) => renderCard(card, lang, origin)).join("");
  const tabs = examples
    .map(
      (ex, i) =>
        `<button type="button" role="tab" class="tab" id="tab-${ex.id}" data-tab="${ex.id}" aria-selected="${i === 0}">${tr(lang, ex.tab)}</button>`,
    )
    .join("");
  const panels = examples
    .map(
      (ex, i) =>
        `<div class="tabpanel" role="tabpanel" data-panel="${ex.id}" aria-labelledby="tab-${ex.id}"${i === 0 ? "" : " hidden"}>` +
        (ex.note ? `<p class="panel-note">${tr(lang, ex.note)}</p>` : "") +
        `<div class="code-wrap"><pre><code>${renderCode(ex.code, origin)}</code></pre>` +
        copyButton(lang, `data-copy-code="${ex.id}"`) +
        `</div></div>`,
    )
    .join("");
  const rows = model.config
    .map(
      (row) =>
        `<tr data-variable="${row.variable}"${row.changed ? ' class="changed"' : ""}><th scope="row"><code>${row.variable}</code></th>` +
        `<td data-i18n-label="colDefault" data-label="${escapeHtml(t(lang, "colDefault"))}">${configValue(lang, row.defaultValue)}</td>` +
        `<td class="effective" data-i18n-label="colEffective" data-label="${escapeHtml(t(lang, "colEffective"))}">${configValue(lang, row.effective)}</td>` +
        `<td class="meaning">${tr(lang, row.meaning)}</td></tr>`,
    )
    .join("");
  const data = {
    lang,
    strings: STRINGS,
    authConfigured: model.authConfigured,
    pollIntervalMs: opts.pollIntervalMs,
    endpoints: model.endpoints.map((e) => ({ name: e.name, displayName: e.displayName })),
  };
  const langButtons = (["en", "zh"] as const)
    .map(
      (l) =>
        `<button type="button" data-lang="${l}" lang="${l}" aria-pressed="${l === lang}">${l === "en" ? "EN" : "中文"}</button>`,
    )
    .join("");
  const favicon =
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%234f46e5'/%3E%3Cpath d='M9 11h14M9 16h10M9 21h14' stroke='white' stroke-width='2.5' stroke-linecap='round'/%3E%3C/svg%3E";
  return `<!doctype html>
<html lang="${lang === "zh" ? "zh-CN" : "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title data-i18n-doc="title">${escapeHtml(t(lang, "title"))}</title>
<link rel="icon" href="${favicon}">
<style nonce="${n}">${DASHBOARD_STYLE}</style>
</head>
<body>
<header class="top">
  <div class="wrap top-inner">
    <div class="brand"><span class="logo" aria-hidden="true"></span><div><h1>${tr(lang, "title")}</h1><p class="tagline">${tr(lang, "tagline")}</p></div></div>
    <div class="lang-switch" role="group" data-i18n-aria="langLabel" aria-label="${escapeHtml(t(lang, "langLabel"))}">${langButtons}</div>
  </div>
  <nav class="wrap nav"><a href="#endpoints">${tr(lang, "navEndpoints")}</a><a href="#health">${tr(lang, "navHealth")}</a><a href="#usage">${tr(lang, "navUsage")}</a><a href="#config">${tr(lang, "navConfig")}</a></nav>
</header>
<main class="wrap">
${warnings ? `<div class="alerts">${warnings}</div>` : ""}
<section id="about"><h2>${tr(lang, "aboutTitle")}</h2><div class="features">${features}</div></section>
<section id="endpoints">
  <div class="section-head"><h2>${tr(lang, "endpointsTitle")} <span class="count" id="endpoint-count">${model.endpoints.length}</span></h2>
  <input type="search" id="endpoint-filter" autocomplete="off" data-i18n-placeholder="filterPlaceholder" placeholder="${escapeHtml(t(lang, "filterPlaceholder"))}" data-i18n-aria="filterPlaceholder" aria-label="${escapeHtml(t(lang, "filterPlaceholder"))}"></div>
  <p class="hint">${tr(lang, "endpointsHint")}</p>
  <div class="cards" id="cards">${cards}</div>
  <p class="empty" id="no-match" hidden>${tr(lang, "noMatch")}</p>
</section>
<section id="health">
  <div class="section-head"><h2>${tr(lang, "healthTitle")}</h2><span class="live-dot" id="live-dot" aria-hidden="true"></span></div>
  <p class="hint">${tr(lang, model.authConfigured ? "healthIntro" : "healthPublic")}</p>
  <form class="token-form" id="token-form" autocomplete="off"${model.authConfigured ? "" : " hidden"}>
    <label for="token-input">${tr(lang, "tokenLabel")}</label>
    <input type="password" id="token-input" name="token" data-i18n-placeholder="tokenPlaceholder" placeholder="${escapeHtml(t(lang, "tokenPlaceholder"))}" spellcheck="false">
    <label class="check"><input type="checkbox" id="token-remember"> ${tr(lang, "remember")}</label>
    <button type="submit" class="primary" id="token-connect">${tr(lang, "connect")}</button>
    <span class="connected-note">${tr(lang, "tokenSaved")}</span>
    <button type="button" class="ghost" id="token-forget" hidden>${tr(lang, "disconnect")}</button>
  </form>
  <p class="status" id="health-status" role="status">${tr(lang, model.authConfigured ? "statusIdle" : "statusLoading")}</p>
  <div id="health-sessions" class="sessions"></div>
  <div id="health-endpoints" class="health-list"></div>
</section>
<section id="usage">
  <h2>${tr(lang, "usageTitle")}</h2>
  <p class="hint">${tr(lang, "usageIntro")}</p>
  <div class="tabs" role="tablist">${tabs}</div>
  ${panels}
</section>
<section id="config">
  <h2>${tr(lang, "configTitle")}</h2>
  <p class="hint">${tr(lang, "configIntro")}</p>
  <div class="table-wrap"><table class="config-table"><thead><tr><th>${tr(lang, "colVariable")}</th><th>${tr(lang, "colDefault")}</th><th>${tr(lang, "colEffective")}</th><th>${tr(lang, "colMeaning")}</th></tr></thead><tbody>${rows}</tbody></table></div>
</section>
</main>
<footer class="wrap foot">${tr(lang, "footer")}</footer>
<script type="application/json" id="dashboard-data">${jsonForScript(data)}</script>
<script nonce="${n}">${DASHBOARD_SCRIPT}</script>
</body>
</html>`;
}

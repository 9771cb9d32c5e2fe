/**
 * The dashboard's client script, inlined under the response's CSP nonce. Plain ES2020 kept as a
 * string because the Worker's TypeScript has no DOM types. It never uses innerHTML with data: every
 * value from `/health` becomes a text node or an SVG attribute. The token lives in sessionStorage (or
 * localStorage when "remember" is ticked) and is sent only to `/health` in `x-proxy-token`.
 */
export const DASHBOARD_SCRIPT = String.raw`(function () {
"use strict";
var data = JSON.parse(document.getElementById("dashboard-data").textContent);
var TOKEN_KEY = "llm-gateway.proxy-token";
var LANG_KEY = "llm-gateway.lang";
var HISTORY_POINTS = 32;
var lang = data.lang;
var report = null;
var clockOffsetMs = 0;
var history = new Map();
var pollTimer = 0;
var polling = false;
var pollMs = data.pollIntervalMs;
var idleOpen = false;
var pollParam = Number(new URLSearchParams(location.search).get("poll"));
if (pollParam >= 500) pollMs = pollParam;

function $(id) { return document.getElementById(id); }
function store(kind) { try { return window[kind]; } catch (e) { return null; } }
function T(key, args) {
  var s = (data.strings[lang] && data.strings[lang][key]) || data.strings.en[key] || key;
  return s.replace(/\{(\w+)\}/g, function (whole, name) { return args && name in args ? String(args[name]) : whole; });
}
function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/* ---------- origin: the page's own, port included ---------- */
function originFor(kind) { return kind === "ws" ? location.origin.replace(/^http/, "ws") : location.origin; }
document.querySelectorAll("[data-origin]").forEach(function (node) { node.textContent = originFor(node.getAttribute("data-origin")); });

/* ---------- language ---------- */
function applyLang(next) {
  lang = next === "zh" ? "zh" : "en";
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach(function (node) {
    var args = node.getAttribute("data-i18n-args");
    node.textContent = T(node.getAttribute("data-i18n"), args ? JSON.parse(args) : null);
  });
  [["data-i18n-placeholder", "placeholder"], ["data-i18n-title", "title"], ["data-i18n-label", "data-label"], ["data-i18n-aria", "aria-label"]].forEach(function (pair) {
    document.querySelectorAll("[" + pair[0] + "]").forEach(function (node) { node.setAttribute(pair[1], T(node.getAttribute(pair[0]))); });
  });
  document.title = T("title");
  document.querySelectorAll("[data-lang]").forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang)); });
  if (lastStatus) setStatus(lastStatus[0], lastStatus[1], lastStatus[2]);
  renderHealth();
}
document.querySelectorAll("[data-lang]").forEach(function (button) {
  button.addEventListener("click", function () {
    var s = store("localStorage");
    if (s) s.setItem(LANG_KEY, button.getAttribute("data-lang"));
    applyLang(button.getAttribute("data-lang"));
  });
});
var savedLang = store("localStorage") && store("localStorage").getItem(LANG_KEY);
if (savedLang && savedLang !== lang) applyLang(savedLang);

/* ---------- copy ---------- */
function fallbackCopy(text) {
  var area = el("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.appendChild(area);
  area.select();
  var ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy"));
}
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
  }
  return fallbackCopy(text);
}
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button.copy");
  if (!button) return;
  var text;
  if (button.hasAttribute("data-copy-path")) text = location.origin + button.getAttribute("data-copy-path");
  else text = button.parentNode.querySelector("pre").textContent;
  var label = button.querySelector("[data-i18n]");
  copyText(text).then(function () { return "copied"; }, function () { return "copyFailed"; }).then(function (key) {
    label.setAttribute("data-i18n", key);
    label.textContent = T(key);
    button.classList.add(key === "copied" ? "ok" : "bad");
    setTimeout(function () {
      label.setAttribute("data-i18n", "copy");
      label.textContent = T("copy");
      button.classList.remove("ok", "bad");
    }, 1600);
  });
});

/* ---------- endpoint filter ---------- */
var filter = $("endpoint-filter");
filter.addEventListener("input", function () {
  var q = filter.value.trim().toLowerCase();
  var shown = 0;
  document.querySelectorAll("#cards .card").forEach(function (card) {
    var hit = q === "" || card.getAttribute("data-search").indexOf(q) !== -1;
    card.hidden = !hit;
    if (hit) shown++;
  });
  $("endpoint-count").textContent = String(shown);
  $("no-match").hidden = shown !== 0;
});

/* ---------- usage tabs ---------- */
document.querySelectorAll("[data-tab]").forEach(function (tab) {
  tab.addEventListener("click", function () {
    var id = tab.getAttribute("data-tab");
    document.querySelectorAll("[data-tab]").forEach(function (t) { t.setAttribute("aria-selected", String(t === tab)); });
    document.querySelectorAll("[data-panel]").forEach(function (p) { p.hidden = p.getAttribute("data-panel") !== id; });
  });
});

/* ---------- live health ---------- */
function clearToken() {
  var s = store("sessionStorage"), l = store("localStorage");
  if (s) s.removeItem(TOKEN_KEY);
  if (l) l.removeItem(TOKEN_KEY);
}
function readToken() {
  var s = store("sessionStorage"), l = store("localStorage");
  return (s && s.getItem(TOKEN_KEY)) || (l && l.getItem(TOKEN_KEY)) || "";
}
var lastStatus = null;
function setStatus(key, extra, tone) {
  lastStatus = [key, extra, tone];
  var status = $("health-status");
  status.textContent = T(key) + (extra ? " " + extra : "");
  status.setAttribute("data-tone", tone || "");
  $("live-dot").className = "live-dot" + (tone === "ok" ? " on" : tone === "bad" ? " bad" : "");
}
function stopPolling() { polling = false; clearTimeout(pollTimer); }
function startPolling() { stopPolling(); polling = true; setStatus("statusLoading"); poll(); }
function poll() {
  // A hidden tab does not poll; it catches up as soon as it is shown again.
  if (document.hidden) { pollTimer = setTimeout(poll, pollMs); return; }
  var headers = {};
  var token = readToken();
  if (token) headers["x-proxy-token"] = token;
  fetch("/health", { headers: headers, cache: "no-store", credentials: "omit" }).then(function (response) {
    if (response.status === 401 || response.status === 403) { stopPolling(); clearToken(); setConnected(false); setStatus("statusUnauthorized", "", "bad"); return null; }
    if (response.status === 404) { stopPolling(); setStatus("statusUnavailable", "(404)", "bad"); return null; }
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }).then(function (body) {
    if (!body || !polling) return;
    report = body;
    clockOffsetMs = Date.parse(body.generated_at) - Date.now();
    recordHistory(body);
    setStatus("statusOk", new Date(Date.parse(body.generated_at)).toLocaleTimeString(), "ok");
    renderHealth();
  }).catch(function (error) {
    setStatus("statusError", "(" + error.message + ")", "bad");
  }).then(function () {
    if (polling) pollTimer = setTimeout(poll, pollMs);
  });
}
function recordHistory(body) {
  Object.keys(body.endpoints || {}).forEach(function (name) {
    (body.endpoints[name].targets || []).forEach(function (target) {
      var key = name + "\n" + target.url;
      var h = history.get(key);
      var point = null;
      if (h && target.requests > h.requests) point = (target.successes - h.successes) / (target.requests - h.requests);
      else if (!h && target.requests > 0) point = target.success_rate;
      if (!h) { h = { points: [] }; history.set(key, h); }
      h.requests = target.requests;
      h.successes = target.successes;
      h.points.push(point);
      if (h.points.length > HISTORY_POINTS) h.points.shift();
    });
  });
}

var SVG = "http://www.w3.org/2000/svg";
function sparkline(points) {
  var svg = document.createElementNS(SVG, "svg");
  var w = 96, h = 24, bar = w / HISTORY_POINTS;
  svg.setAttribute("viewBox", "0 0 " + w + " " + h);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  var known = points.filter(function (p) { return p !== null; });
  svg.setAttribute("aria-label", known.length ? Math.round(known[known.length - 1] * 100) + "%" : "-");
  var offset = HISTORY_POINTS - points.length;
  var track = document.createElementNS(SVG, "rect");
  track.setAttribute("width", String(w));
  track.setAttribute("height", String(h));
  track.setAttribute("rx", "3");
  track.setAttribute("class", "track");
  svg.appendChild(track);
  points.forEach(function (p, i) {
    if (p === null) return;
    var rect = document.createElementNS(SVG, "rect");
    var height = Math.max(3, p * h);
    rect.setAttribute("x", String((offset + i) * bar + 0.5));
    rect.setAttribute("width", String(Math.max(1, bar - 1)));
    rect.setAttribute("y", String(h - height));
    rect.setAttribute("height", String(height));
    rect.setAttribute("rx", "1");
    rect.setAttribute("class", p >= 0.95 ? "good" : p >= 0.7 ? "fair" : "poor");
    svg.appendChild(rect);
  });
  return svg;
}

var STATE_KEYS = { healthy: "stateHealthy", failing: "stateFailing", ejected: "stateEjected", rate_limited: "stateRateLimited", probing: "stateProbing" };
function statePill(state) {
  var pill = el("span", "pill state-" + state, STATE_KEYS[state] ? T(STATE_KEYS[state]) : state);
  pill.setAttribute("data-state", state);
  // failing: in service (nothing else is left) but breaking an outlier rule (DESIGN §7).
  if (state === "failing") pill.title = T("stateFailingTitle");
  return pill;
}
function pct(rate) { return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1) + "%"; }
function ms(value) { return value === null || value === undefined ? "–" : Math.round(value) + " ms"; }
function duration(seconds) {
  if (seconds < 60) return seconds + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m " + (seconds % 60) + "s";
  return Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m";
}
function relative(iso) {
  var seconds = Math.round((Date.parse(iso) - (Date.now() + clockOffsetMs)) / 1000);
  return seconds >= 0 ? T("inSeconds", { n: duration(seconds) }) : T("ago", { n: duration(-seconds) });
}
function cell(label, child, cls) {
  var c = el("div", "cell" + (cls ? " " + cls : ""));
  c.setAttribute("data-label", T(label));
  if (typeof child === "string") c.textContent = child; else if (child) c.appendChild(child);
  return c;
}
function untilNode(target) {
  var iso = target.ejected_until || target.rate_limited_until;
  if (!iso) return el("span", "muted", "–");
  var span = el("time", "until", relative(iso));
  span.setAttribute("datetime", iso);
  span.setAttribute("data-until", iso);
  return span;
}
function lastErrorNode(error) {
  if (!error) return el("span", "muted", "–");
  var span = el("span", "err", error.kind + (error.status ? " " + error.status : "") + " · ");
  var time = el("time", "", relative(error.at));
  time.setAttribute("datetime", error.at);
  time.setAttribute("data-until", error.at);
  span.appendChild(time);
  return span;
}
// Key pools (issue 14): each key by fingerprint only; the page never sees a key.
var KEY_STATE_KEYS = { ok: "keyStateOk", rate_limited: "stateRateLimited", invalid: "keyStateInvalid", exhausted: "keyStateExhausted" };
function appendKeys(block, keys) {
  block.appendChild(el("h4", "keys-title", T("keysTitle")));
  var header = el("div", "target-row key-row header");
  ["colKey", "colState", "colRequests", "colRateLimited", "colUntil", "colLastError"].forEach(function (key) { header.appendChild(el("div", "cell", T(key))); });
  block.appendChild(header);
  keys.forEach(function (key) {
    var row = el("div", "target-row key-row");
    row.setAttribute("data-key", key.fingerprint);
    row.setAttribute("data-state", key.state);
    var who = el("div", "cell target-url");
    who.appendChild(el("code", "", "…" + key.fingerprint));
    if (key.weight !== 1) who.appendChild(el("span", "weight", "×" + key.weight));
    row.appendChild(who);
    var pill = el("span", "pill state-" + key.state, KEY_STATE_KEYS[key.state] ? T(KEY_STATE_KEYS[key.state]) : key.state);
    pill.setAttribute("data-state", key.state);
    row.appendChild(cell("colState", pill));
    row.appendChild(cell("colRequests", String(key.requests), "num"));
    row.appendChild(cell("colRateLimited", String(key.rate_limited_responses), "num"));
    row.appendChild(cell("colUntil", untilNode({ rate_limited_until: key.cooldown_until })));
    row.appendChild(cell("colLastError", lastErrorNode(key.last_error), "last-error"));
    block.appendChild(row);
  });
}
function targetRow(name, target) {
  var row = el("div", "target-row");
  row.setAttribute("data-target", target.url);
  row.setAttribute("data-state", target.state);
  var where = el("div", "cell target-url");
  where.appendChild(el("code", "", target.url));
  if (target.weight !== 1) where.appendChild(el("span", "weight", "×" + target.weight));
  row.appendChild(where);
  row.appendChild(cell("colState", statePill(target.state)));
  row.appendChild(cell("colSuccess", pct(target.success_rate), "num"));
  var requests = el("span", "", target.requests);
  if (target.failures > 0) {
    requests.appendChild(el("span", "sub bad-text", " · " + target.failures + " " + T("failed")));
  }
  row.appendChild(cell("colRequests", requests, "num"));
  row.appendChild(cell("colLatency", ms(target.latency_ms && target.latency_ms.p50) + " / " + ms(target.latency_ms && target.latency_ms.p95), "num"));
  row.appendChild(cell("colUntil", untilNode(target)));
  var h = history.get(name + "\n" + target.url);
  row.appendChild(cell("colTrend", sparkline(h ? h.points : [])));
  row.appendChild(cell("colLastError", lastErrorNode(target.last_error), "last-error"));
  return row;
}
function counter(value, key) {
  var item = el("div", "counter");
  item.appendChild(el("strong", "", value === undefined ? 0 : value));
  item.appendChild(el("span", "", T(key)));
  return item;
}
function renderSessions(sessions) {
  var box = $("health-sessions");
  box.textContent = "";
  if (!sessions) return;
  [["sessGemini", sessions.gemini, ["active", "completed", "recovered", "continuations", "failed"]],
   ["sessWs", sessions.websocket, ["active", "completed"]],
   ["sessStream", sessions.stream, ["active", "completed", "recovered", "continuations", "failed"]]].forEach(function (group) {
    var card = el("div", "session-card");
    card.setAttribute("data-session", group[0]);
    card.appendChild(el("h3", "", T(group[0])));
    var row = el("div", "counters");
    group[2].forEach(function (key) { row.appendChild(counter(group[1] ? group[1][key] : 0, key)); });
    card.appendChild(row);
    box.appendChild(card);
  });
}
function renderHealth() {
  if (!report) return;
  renderSessions(report.sessions);
  var list = $("health-endpoints");
  list.textContent = "";
  var names = {};
  data.endpoints.forEach(function (e) { names[e.name] = e.displayName; });
  var active = [], idle = [];
  Object.keys(report.endpoints || {}).forEach(function (name) {
    var targets = report.endpoints[name].targets || [];
    var busy = targets.some(function (t) { return t.requests > 0 || t.state !== "healthy"; }) ||
      // A pool whose keys all cooled down may have sent nothing a target would count.
      (report.endpoints[name].keys || []).some(function (k) { return k.requests > 0 || k.state !== "ok"; }) ||
      !!report.endpoints[name].keys_error;
    (busy ? active : idle).push(name);
  });
  active.sort();
  idle.sort();
  if (active.length === 0) list.appendChild(el("p", "empty", T("noTraffic")));
  active.forEach(function (name) {
    var entry = report.endpoints[name];
    var block = el("article", "health-endpoint");
    block.setAttribute("data-health-endpoint", name);
    var head = el("div", "health-head");
    head.appendChild(el("h3", "", names[name] || name));
    head.appendChild(el("code", "route", "/" + name));
    // A failing target is still in service (the only one left), so it counts here; its pill says it fails.
    var up = entry.targets.filter(function (t) { return t.state === "healthy" || t.state === "probing" || t.state === "failing"; }).length;
    var failing = entry.targets.some(function (t) { return t.state === "failing"; });
    var summary = el("span", "in-service" + (up === entry.targets.length && !failing ? " all" : up === 0 ? " none" : ""), T("inService", { n: up, total: entry.targets.length }));
    head.appendChild(summary);
    if (entry.error) head.appendChild(el("span", "err", entry.error));
    if (entry.keys_error) head.appendChild(el("span", "err", entry.keys_error));
    block.appendChild(head);
    var header = el("div", "target-row header");
    ["colTarget", "colState", "colSuccess", "colRequests", "colLatency", "colUntil", "colTrend", "colLastError"].forEach(function (key) { header.appendChild(el("div", "cell", T(key))); });
    block.appendChild(header);
    entry.targets.forEach(function (target) { block.appendChild(targetRow(name, target)); });
    if (entry.keys && entry.keys.length) appendKeys(block, entry.keys);
    list.appendChild(block);
  });
  if (idle.length) {
    var details = el("details", "idle");
    details.open = idleOpen;
    details.addEventListener("toggle", function () { idleOpen = details.open; });
    details.appendChild(el("summary", "", T("idleEndpoints", { n: idle.length })));
    details.appendChild(el("p", "muted", idle.map(function (n) { return "/" + n; }).join("  ")));
    list.appendChild(details);
  }
}
document.addEventListener("visibilitychange", function () {
  if (!document.hidden && polling) { clearTimeout(pollTimer); poll(); }
});
setInterval(function () {
  document.querySelectorAll("[data-until]").forEach(function (node) { node.textContent = relative(node.getAttribute("data-until")); });
}, 1000);

var form = $("token-form");
var input = $("token-input");
var forget = $("token-forget");
function setConnected(on) {
  forget.hidden = !on;
  form.classList.toggle("connected", on);
}
form.addEventListener("submit", function (event) {
  event.preventDefault();
  var token = input.value.trim();
  if (!token) return;
  clearToken();
  var target = store($("token-remember").checked ? "localStorage" : "sessionStorage");
  if (target) target.setItem(TOKEN_KEY, token);
  input.value = "";
  setConnected(true);
  startPolling();
});
forget.addEventListener("click", function () {
  clearToken();
  stopPolling();
  report = null;
  history.clear();
  $("health-sessions").textContent = "";
  $("health-endpoints").textContent = "";
  setConnected(false);
  setStatus("statusIdle");
});
if (!data.authConfigured) startPolling();
else if (readToken()) { setConnected(true); startPolling(); }
})();`;

/**
 * Dashboard strings in English and Chinese. The server renders the page in the language chosen from
 * `Accept-Language`; the same table is embedded for the client script, which switches languages
 * without a reload and renders the live health panel.
 */

export type Lang = "en" | "zh";
export const LANGS: readonly Lang[] = ["en", "zh"];

const EN = {
  title: "LLM Gateway",
  tagline: "One Worker in front of your LLM providers: private egress, failover, complete Gemini streams.",
  navEndpoints: "Endpoints",
  navHealth: "Live health",
  navUsage: "Usage",
  navConfig: "Configuration",
  langLabel: "Language",
  aboutTitle: "What this gateway does",
  featPresetsT: "Preset endpoints",
  featPresetsD: "Short paths for dozens of providers: swap the API origin for this gateway's URL.",
  featGenericT: "Generic proxy",
  featGenericD: "Any HTTP or WebSocket API at /{token}/https/{host}/{path}, byte-exact.",
  featEgressT: "Private egress",
  featEgressD: "Raw TCP sockets with every client-identifying header removed; fetch as fallback.",
  featFailoverT: "Multi-target failover",
  featFailoverD: "Weighted choice by live health; failed attempts retry before any byte reaches you.",
  featGeminiT: "Gemini anti-truncation",
  featGeminiD: "Cut-off Gemini streams are continued transparently into one complete stream.",
  featWsT: "WebSocket relay",
  featWsD: "Frame-exact relays, including the Gemini Live API with session resumption.",
  endpointsTitle: "Endpoints",
  endpointsHint:
    "Replace the provider's API origin with the URL on the card; the rest of the path stays the same.",
  filterPlaceholder: "Filter by name or host…",
  noMatch: "No endpoint matches.",
  copy: "Copy",
  copied: "Copied",
  copyFailed: "Copy failed",
  overridden: "overridden",
  overriddenHint: "Added or replaced by ENDPOINTS",
  gemini: "Gemini",
  aliasOf: "alias of",
  targets: "targets",
  weight: "weight",
  transportSocket: "socket → fetch",
  transportFetch: "fetch",
  healthTitle: "Live health",
  healthIntro:
    "Polls /health every few seconds. The token stays in this browser and is only sent to /health.",
  healthPublic: "AUTH_TOKEN is not set, so /health is public: polling starts without a token.",
  tokenLabel: "Proxy token",
  tokenPlaceholder: "AUTH_TOKEN",
  remember: "Remember in this browser",
  connect: "Connect",
  disconnect: "Forget token",
  statusIdle: "Enter the token to see live health.",
  statusLoading: "Loading…",
  statusOk: "Updated",
  statusUnauthorized: "The token was rejected (401).",
  statusUnavailable: "/health is not available on this gateway yet",
  statusError: "Could not reach /health",
  sessionsTitle: "Sessions",
  sessGemini: "Gemini streams",
  sessWs: "WebSockets",
  active: "active",
  completed: "completed",
  recovered: "recovered",
  continuations: "continuations",
  failed: "failed",
  colTarget: "Target",
  colState: "State",
  colSuccess: "Success",
  colRequests: "Requests",
  colLatency: "Latency p50 / p95",
  colUntil: "Until",
  colTrend: "Recent",
  colLastError: "Last error",
  stateHealthy: "healthy",
  stateEjected: "ejected",
  stateRateLimited: "rate limited",
  stateProbing: "probing",
  idleEndpoints: "Without traffic: {n} endpoints",
  noTraffic: "No traffic yet.",
  inSeconds: "in {n}s",
  ago: "{n}s ago",
  usageTitle: "Usage",
  usageIntro: "Copy-paste examples for this gateway. Keys stay yours: they pass through to the provider.",
  usageCurl: "curl",
  usageOpenai: "OpenAI SDK",
  usageGenai: "Google GenAI SDK",
  usageAnthropic: "Anthropic SDK",
  usageGeneric: "Generic proxy",
  usageWs: "WebSocket",
  usageTokenNote: "PRESET_AUTH_ENABLED is on: presets need the token (x-proxy-token header).",
  usageGenericOff: "The generic proxy is disabled until AUTH_TOKEN is set.",
  configTitle: "Configuration",
  configIntro:
    "Worker variables (wrangler.toml, secrets via wrangler secret put). Secrets are shown only as set or unset.",
  colVariable: "Variable",
  colDefault: "Default",
  colEffective: "Effective",
  colMeaning: "Meaning",
  set: "set",
  unset: "unset",
  builtIn: "built in",
  custom: "custom",
  descAuth: "Token for the generic proxy, /health, and presets when PRESET_AUTH_ENABLED.",
  descPresetAuth: "Presets require the token.",
  descGemini: "Anti-truncation engine on Gemini streaming and generation routes.",
  descDebug: "Verbose structured logs (never secrets or prompt text).",
  descAggressive: "Fall back to fetch also after the request was sent on a socket.",
  descRetry: "Continuation prompt for this language.",
  descEndpoints: "JSON merged over the built-in presets.",
  descPrivate: "Let the generic proxy reach loopback and private addresses (local testing only).",
  endpointsEffective: "{n} overrides",
  warnNoToken:
    "AUTH_TOKEN is not set: the generic proxy is disabled and /health is public. Set it with wrangler secret put AUTH_TOKEN.",
  warnPresetsPublic:
    "Presets are public (PRESET_AUTH_ENABLED is off): anyone with this URL can relay requests through it with their own keys.",
  warnPrivate:
    "ALLOW_PRIVATE_TARGETS is on: the generic proxy can reach loopback and private networks. Use it only for local testing.",
  warnDebug: "DEBUG_MODE is on: logs are verbose.",
  footer: "Served by this gateway. No external assets, no tracking.",
} as const;

export type StringKey = keyof typeof EN;

const ZH: Record<StringKey, string> = {
  title: "LLM 网关",
  tagline: "部署在 Worker 上的大模型 API 网关：隐私出口、故障转移、完整的 Gemini 流。",
  navEndpoints: "端点",
  navHealth: "实时健康",
  navUsage: "用法",
  navConfig: "配置",
  langLabel: "语言",
  aboutTitle: "这个网关能做什么",
  featPresetsT: "预设端点",
  featPresetsD: "数十家服务商的短路径：把 API 源地址换成本网关的地址即可。",
  featGenericT: "通用代理",
  featGenericD: "任意 HTTP 或 WebSocket API：/{token}/https/{host}/{path}，逐字节转发。",
  featEgressT: "隐私出口",
  featEgressD: "通过原始 TCP 套接字发出请求，去除所有可识别客户端的请求头；fetch 作为后备。",
  featFailoverT: "多目标故障转移",
  featFailoverD: "按权重和实时健康选择目标；在任何字节返回之前，失败的尝试会自动重试。",
  featGeminiT: "Gemini 防截断",
  featGeminiD: "被截断的 Gemini 流会被透明续写，客户端收到一个完整的流。",
  featWsT: "WebSocket 中继",
  featWsD: "逐帧精确中继，包括支持会话恢复的 Gemini Live API。",
  endpointsTitle: "端点",
  endpointsHint: "把服务商的 API 源地址换成卡片上的地址，路径的其余部分保持不变。",
  filterPlaceholder: "按名称或主机筛选…",
  noMatch: "没有匹配的端点。",
  copy: "复制",
  copied: "已复制",
  copyFailed: "复制失败",
  overridden: "已覆盖",
  overriddenHint: "由 ENDPOINTS 新增或替换",
  gemini: "Gemini",
  aliasOf: "别名：",
  targets: "个目标",
  weight: "权重",
  transportSocket: "套接字 → fetch",
  transportFetch: "fetch",
  healthTitle: "实时健康",
  healthIntro: "每隔几秒轮询 /health。令牌只保存在本浏览器中，并且只发送给 /health。",
  healthPublic: "未设置 AUTH_TOKEN，/health 是公开的：无需令牌即开始轮询。",
  tokenLabel: "代理令牌",
  tokenPlaceholder: "AUTH_TOKEN",
  remember: "在此浏览器中记住",
  connect: "连接",
  disconnect: "清除令牌",
  statusIdle: "输入令牌以查看实时健康状态。",
  statusLoading: "加载中…",
  statusOk: "已更新",
  statusUnauthorized: "令牌被拒绝 (401)。",
  statusUnavailable: "此网关尚未提供 /health",
  statusError: "无法访问 /health",
  sessionsTitle: "会话",
  sessGemini: "Gemini 流",
  sessWs: "WebSocket",
  active: "活动",
  completed: "已完成",
  recovered: "已恢复",
  continuations: "续写次数",
  failed: "失败",
  colTarget: "目标",
  colState: "状态",
  colSuccess: "成功率",
  colRequests: "请求数",
  colLatency: "延迟 p50 / p95",
  colUntil: "直到",
  colTrend: "近期",
  colLastError: "最近错误",
  stateHealthy: "健康",
  stateEjected: "已剔除",
  stateRateLimited: "限流中",
  stateProbing: "探测中",
  idleEndpoints: "暂无流量的端点：{n} 个",
  noTraffic: "暂无流量。",
  inSeconds: "{n} 秒后",
  ago: "{n} 秒前",
  usageTitle: "用法",
  usageIntro: "可直接复制的示例。API 密钥由你自己提供，原样转发给服务商。",
  usageCurl: "curl",
  usageOpenai: "OpenAI SDK",
  usageGenai: "Google GenAI SDK",
  usageAnthropic: "Anthropic SDK",
  usageGeneric: "通用代理",
  usageWs: "WebSocket",
  usageTokenNote: "已开启 PRESET_AUTH_ENABLED：预设端点需要令牌（x-proxy-token 请求头）。",
  usageGenericOff: "在设置 AUTH_TOKEN 之前，通用代理处于禁用状态。",
  configTitle: "配置",
  configIntro: "Worker 变量（wrangler.toml，密钥用 wrangler secret put 设置）。密钥只显示是否已设置。",
  colVariable: "变量",
  colDefault: "默认值",
  colEffective: "生效值",
  colMeaning: "含义",
  set: "已设置",
  unset: "未设置",
  builtIn: "内置",
  custom: "自定义",
  descAuth: "通用代理、/health 以及（开启 PRESET_AUTH_ENABLED 时）预设端点所用的令牌。",
  descPresetAuth: "预设端点需要令牌。",
  descGemini: "在 Gemini 流式与生成路由上启用防截断引擎。",
  descDebug: "详细的结构化日志（从不记录密钥或提示词）。",
  descAggressive: "套接字请求已发出后失败时也回退到 fetch。",
  descRetry: "该语言的续写提示词。",
  descEndpoints: "合并到内置预设之上的 JSON。",
  descPrivate: "允许通用代理访问回环和私有地址（仅限本地测试）。",
  endpointsEffective: "{n} 项覆盖",
  warnNoToken: "未设置 AUTH_TOKEN：通用代理已禁用，/health 公开。请用 wrangler secret put AUTH_TOKEN 设置。",
  warnPresetsPublic:
    "预设端点是公开的（PRESET_AUTH_ENABLED 未开启）：任何知道此地址的人都能用自己的密钥经由它转发请求。",
  warnPrivate: "已开启 ALLOW_PRIVATE_TARGETS：通用代理可以访问回环和私有网络，仅限本地测试使用。",
  warnDebug: "已开启 DEBUG_MODE：日志较为详细。",
  footer: "由本网关提供。无外部资源，无跟踪。",
};

export const STRINGS: Readonly<Record<Lang, Readonly<Record<StringKey, string>>>> = { en: EN, zh: ZH };

/** `{n}`-style placeholders filled from `args`. */
export function t(lang: Lang, key: StringKey, args: Record<string, string | number> = {}): string {
  return STRINGS[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in args ? String(args[name]) : whole,
  );
}

/**
 * The dashboard language from an `Accept-Language` header: the highest-weighted of `en` / `zh`
 * (any region or script subtag), English when neither is listed.
 */
export function pickLanguage(acceptLanguage: string | null | undefined): Lang {
  if (!acceptLanguage) return "en";
  let best: { lang: Lang; q: number } | null = null;
  for (const part of acceptLanguage.split(",")) {
    const [range = "", ...params] = part.trim().split(";");
    const primary = range.trim().toLowerCase().split("-")[0];
    if (primary !== "en" && primary !== "zh") continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split("=").map((s) => s.trim());
      if (name === "q" && value !== undefined) q = Number.parseFloat(value);
    }
    if (!Number.isFinite(q) || q <= 0) continue;
    if (best === null || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? "en";
}

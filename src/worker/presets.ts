/**
 * Built-in preset endpoints (DESIGN §1, §5.1; issue 2 item 5): `/{name}/{rest}` is forwarded to
 * `{target}{rest}` byte-exact, so each target is chosen to make the provider's documented URLs work
 * after swapping the origin:
 *
 *   https://api.openai.com/v1/chat/completions        →  /openai/v1/chat/completions
 *   https://api.groq.com/openai/v1/chat/completions   →  /groq/v1/chat/completions
 *   https://open.bigmodel.cn/api/paas/v4/...          →  /zhipu/api/paas/v4/...
 *
 * Rule: a target is the provider's official API origin plus a fixed prefix only when the whole API
 * lives under that prefix (Groq `/openai`, OpenRouter `/api`, Fireworks `/inference`, Discord
 * `/api`). Where one host serves several API families under different prefixes (Zhipu `/api/paas`
 * and `/api/anthropic`, DashScope `/compatible-mode` and `/api`, Novita `/openai` and `/v3`, Friendli
 * `/serverless` and `/dedicated`, GitHub `/inference` and `/orgs/{org}/inference`) the target is the
 * bare origin, so every family stays reachable.
 *
 * Transport: `connect()` from a Worker cannot open sockets to Cloudflare's own IP ranges (the
 * Workers TCP sockets docs list this limitation), so a provider whose API is proxied by Cloudflare
 * must use `fetch`. The rest use `socket` (socket first, fetch fallback — a connection refused before
 * any request byte is written always falls back, DESIGN §6, so a wrong `socket` guess costs one
 * failed connect, while a wrong `fetch` guess silently loses the privacy egress).
 * Confidence per provider is stated in `CLOUDFLARE_CONFIDENCE` below; these were judged from the
 * response headers the providers are known to send (`server: cloudflare`, `cf-ray`) and their
 * published hosting, not verified live (the build machines have no internet). Operators can flip any
 * of them with `ENDPOINTS`.
 */

import type { ContinuationMethod, KeyPlacement } from "../transport/endpoint";

export interface PresetDefinition {
  /** Route name: the first path segment. Lowercase, URL-safe. */
  name: string;
  /** Human name for the dashboard. */
  displayName: string;
  /** Base URL(s), https, no trailing slash. */
  targets: string[];
  transport: "socket" | "fetch";
  /** Speaks the Gemini API: the anti-truncation engine applies. */
  gemini?: boolean;
  /** This preset is another name for `aliasOf` (same targets and transport). */
  aliasOf?: string;
  /** Why a target differs from what users might expect, or other operator-facing caveats. */
  note?: string;
  /** How the provider takes an API key, for key pools (issue 14); default `Authorization: Bearer`. */
  keyPlacement?: KeyPlacement;
  /** How the provider continues a cut OpenAI-style stream (issue 12); default the continue prompt. */
  continuation?: ContinuationMethod;
}

/**
 * How sure we are about each `fetch` (behind Cloudflare) verdict, and the uncertain `socket` ones.
 * Kept as data so the dashboard or README can show it; not used for routing.
 */
export const CLOUDFLARE_CONFIDENCE: Readonly<Record<string, string>> = {
  openai: "fetch, high: api.openai.com answers with server: cloudflare and cf-ray",
  claude: "fetch, high: api.anthropic.com answers with server: cloudflare and cf-ray",
  groq: "fetch, high: api.groq.com answers with server: cloudflare and cf-ray",
  openrouter: "fetch, high: openrouter.ai is served by Cloudflare",
  portkey: "fetch, high: Portkey's hosted gateway runs on Cloudflare Workers",
  discord: "fetch, high: discord.com is served by Cloudflare",
  perplexity: "fetch, medium-high: api.perplexity.ai answers with cf-ray",
  mistral: "fetch, medium-high: api.mistral.ai answers with cf-ray",
  together: "fetch, medium: api.together.xyz answers with cf-ray",
  xai: "fetch, medium: api.x.ai is believed to be proxied by Cloudflare",
  poe: "fetch, medium: poe.com is served by Cloudflare; api.poe.com assumed the same",
  cerebras: "fetch, medium-low: api.cerebras.ai believed to be proxied by Cloudflare",
  fireworks: "fetch, medium-low: api.fireworks.ai believed to be proxied by Cloudflare",
  chutes: "fetch, low-medium: chutes.ai is served by Cloudflare; llm.chutes.ai assumed the same",
  cohere: "socket, medium: api.cohere.com sits behind Google Cloud load balancing",
  deepseek: "socket, low: hosting not confirmed; fetch fallback covers a wrong guess",
  deepinfra: "socket, low-medium: not known to use Cloudflare",
  novita: "socket, low: hosting not confirmed",
  sambanova: "socket, low: hosting not confirmed",
  targon: "socket, low: hosting not confirmed",
  friendli: "socket, low-medium: CAA/TLS point to AWS",
  hyperbolic: "socket, low: hosting not confirmed",
};

const SOCKET = "socket" as const;
const FETCH = "fetch" as const;

export const BUILTIN_PRESETS: readonly PresetDefinition[] = [
  // --- The seed's 23 names -------------------------------------------------------------------
  {
    name: "discord",
    displayName: "Discord API",
    targets: ["https://discord.com/api"],
    transport: FETCH,
    note: "Not an LLM provider; kept from the seed. /discord/v10/... reaches https://discord.com/api/v10/...",
  },
  {
    name: "telegram",
    displayName: "Telegram Bot API",
    targets: ["https://api.telegram.org"],
    transport: SOCKET,
    note: "Not an LLM provider; kept from the seed. /telegram/bot<token>/getMe reaches the Bot API.",
  },
  { name: "openai", displayName: "OpenAI", targets: ["https://api.openai.com"], transport: FETCH },
  {
    name: "claude",
    displayName: "Anthropic Claude",
    targets: ["https://api.anthropic.com"],
    transport: FETCH,
    keyPlacement: { kind: "header", name: "x-api-key" },
  },
  {
    name: "gemini",
    displayName: "Google Gemini",
    targets: ["https://generativelanguage.googleapis.com"],
    transport: SOCKET,
    gemini: true,
    keyPlacement: { kind: "header", name: "x-goog-api-key" },
  },
  { name: "cerebras", displayName: "Cerebras", targets: ["https://api.cerebras.ai"], transport: FETCH },
  {
    name: "chutes",
    displayName: "Chutes",
    targets: ["https://llm.chutes.ai"],
    transport: FETCH,
    note: "The shared OpenAI-compatible gateway (llm.chutes.ai/v1). Per-chute hosts ({user}-{chute}.chutes.ai) need ENDPOINTS.",
  },
  { name: "cohere", displayName: "Cohere", targets: ["https://api.cohere.com"], transport: SOCKET },
  {
    name: "deepinfra",
    displayName: "DeepInfra",
    targets: ["https://api.deepinfra.com"],
    transport: SOCKET,
    note: "OpenAI-compatible routes are /v1/openai/...",
  },
  {
    name: "fireworks",
    displayName: "Fireworks AI",
    targets: ["https://api.fireworks.ai/inference"],
    transport: FETCH,
  },
  {
    name: "friendli",
    displayName: "FriendliAI",
    targets: ["https://api.friendli.ai"],
    transport: SOCKET,
    note: "Serverless: /friendli/serverless/v1/...; dedicated endpoints: /friendli/dedicated/v1/...",
  },
  {
    name: "github",
    displayName: "GitHub Models",
    targets: ["https://models.github.ai"],
    transport: SOCKET,
    note: "/github/inference/chat/completions; org-attributed: /github/orgs/{org}/inference/chat/completions. Replaces the retired models.inference.ai.azure.com.",
  },
  { name: "groq", displayName: "Groq", targets: ["https://api.groq.com/openai"], transport: FETCH },
  {
    name: "huggingface",
    displayName: "Hugging Face Inference Providers",
    targets: ["https://router.huggingface.co"],
    transport: SOCKET,
    note: "OpenAI-compatible router at /huggingface/v1/...; provider-specific routes like /hf-inference/models/... also work.",
  },
  {
    name: "meta",
    displayName: "Meta Llama API",
    targets: ["https://api.llama.com"],
    transport: SOCKET,
    note: "Native API at /meta/v1/...; OpenAI-compatible at /meta/compat/v1/...",
  },
  {
    name: "novita",
    displayName: "Novita AI",
    targets: ["https://api.novita.ai"],
    transport: SOCKET,
    note: "OpenAI-compatible at /novita/openai/v1/... (older clients: /novita/v3/openai/...)",
  },
  { name: "openrouter", displayName: "OpenRouter", targets: ["https://openrouter.ai/api"], transport: FETCH },
  { name: "poe", displayName: "Poe", targets: ["https://api.poe.com"], transport: FETCH },
  {
    name: "portkey",
    displayName: "Portkey AI Gateway",
    targets: ["https://api.portkey.ai"],
    transport: FETCH,
  },
  {
    name: "sambanova",
    displayName: "SambaNova Cloud",
    targets: ["https://api.sambanova.ai"],
    transport: SOCKET,
  },
  {
    name: "targon",
    displayName: "Targon",
    targets: ["https://api.targon.com"],
    transport: SOCKET,
  },
  { name: "together", displayName: "Together AI", targets: ["https://api.together.xyz"], transport: FETCH },
  { name: "xai", displayName: "xAI Grok", targets: ["https://api.x.ai"], transport: FETCH },

  // --- Providers users expect next ------------------------------------------------------------
  {
    name: "anthropic",
    displayName: "Anthropic Claude",
    targets: ["https://api.anthropic.com"],
    transport: FETCH,
    aliasOf: "claude",
  },
  {
    name: "mistral",
    displayName: "Mistral AI",
    targets: ["https://api.mistral.ai"],
    transport: FETCH,
    continuation: "prefix",
  },
  {
    name: "deepseek",
    displayName: "DeepSeek",
    targets: ["https://api.deepseek.com"],
    transport: SOCKET,
    note: "OpenAI-compatible at /deepseek/v1/... or /deepseek/chat/...; Anthropic-compatible at /deepseek/anthropic/...",
  },
  { name: "perplexity", displayName: "Perplexity", targets: ["https://api.perplexity.ai"], transport: FETCH },
  {
    name: "moonshot",
    displayName: "Moonshot AI (Kimi)",
    targets: ["https://api.moonshot.ai"],
    transport: SOCKET,
    note: "International platform. Keys from platform.moonshot.cn need https://api.moonshot.cn via ENDPOINTS.",
    continuation: "partial",
  },
  {
    name: "kimi",
    displayName: "Moonshot AI (Kimi)",
    targets: ["https://api.moonshot.ai"],
    transport: SOCKET,
    aliasOf: "moonshot",
  },
  {
    name: "zhipu",
    displayName: "Zhipu AI (BigModel)",
    targets: ["https://open.bigmodel.cn"],
    transport: SOCKET,
    note: "OpenAI-style API at /zhipu/api/paas/v4/...; Anthropic-compatible at /zhipu/api/anthropic/...",
  },
  {
    name: "zai",
    displayName: "Z.ai (Zhipu international)",
    targets: ["https://api.z.ai"],
    transport: SOCKET,
    note: "/zai/api/paas/v4/...",
  },
  {
    name: "dashscope",
    displayName: "Alibaba Cloud DashScope (Qwen, Beijing)",
    targets: ["https://dashscope.aliyuncs.com"],
    transport: SOCKET,
    note: "OpenAI-compatible at /dashscope/compatible-mode/v1/...; native at /dashscope/api/v1/...",
  },
  {
    name: "qwen",
    displayName: "Alibaba Cloud DashScope (Qwen, Beijing)",
    targets: ["https://dashscope.aliyuncs.com"],
    transport: SOCKET,
    aliasOf: "dashscope",
  },
  {
    name: "dashscope-intl",
    displayName: "Alibaba Cloud Model Studio (Qwen, Singapore)",
    targets: ["https://dashscope-intl.aliyuncs.com"],
    transport: SOCKET,
    note: "International keys; same paths as dashscope.",
  },
  {
    name: "siliconflow",
    displayName: "SiliconFlow",
    targets: ["https://api.siliconflow.cn"],
    transport: SOCKET,
    note: "China platform. International accounts use https://api.siliconflow.com via ENDPOINTS.",
  },
  {
    name: "nvidia",
    displayName: "NVIDIA NIM (build.nvidia.com)",
    targets: ["https://integrate.api.nvidia.com"],
    transport: SOCKET,
  },
  {
    name: "minimax",
    displayName: "MiniMax",
    targets: ["https://api.minimax.io"],
    transport: SOCKET,
    note: "International platform; China accounts use https://api.minimaxi.com via ENDPOINTS.",
  },
  {
    name: "volcengine",
    displayName: "Volcengine Ark (Doubao)",
    targets: ["https://ark.cn-beijing.volces.com"],
    transport: SOCKET,
    note: "/volcengine/api/v3/chat/completions",
  },
  { name: "stepfun", displayName: "StepFun", targets: ["https://api.stepfun.com"], transport: SOCKET },
  {
    name: "hyperbolic",
    displayName: "Hyperbolic",
    targets: ["https://api.hyperbolic.xyz"],
    transport: SOCKET,
  },
];

/**
 * Worker variables → a validated `GatewayConfig` (DESIGN §5). An invalid value is a `ConfigError` naming
 * the variable, never a silent default. Parsing is cached per distinct set of raw values, so a request
 * pays for it only when the configuration changed.
 */

import { resolveHealthPolicy } from "../durable/health/health-policy";
import { HEALTH_SHARDING_VALUES, type HealthSharding } from "../durable/health/health-shards";
import { parseGeminiEngineConfig } from "../gemini/engine-config";
import type { RetryPrompts } from "../gemini/types";
import { DEFAULT_STREAM_GUARD, parseStreamGuardConfig, type StreamGuardConfig } from "../stream/guard-config";
import type {
  ContinuationMethod,
  EndpointConfig,
  KeyPlacement,
  KeyPoolSpec,
  TargetConfig,
  TransportKind,
} from "../transport/endpoint";
import { ConfigError } from "../transport/errors";
import { type ExtraHeaderDrops, NO_EXTRA_HEADER_DROPS } from "../transport/header-policy";
import { BUILTIN_PRESETS, type PresetDefinition } from "./presets";

/** The variables the gateway reads; all optional at run time whatever the generated `Env` says. */
export interface GatewayVars {
  AUTH_TOKEN?: string;
  PRESET_AUTH_ENABLED?: string | boolean;
  GEMINI_SPECIAL_HANDLING_ENABLED?: string | boolean;
  DEBUG_MODE?: string | boolean;
  AGGRESSIVE_FALLBACK?: string | boolean;
  ALLOW_PRIVATE_TARGETS?: string | boolean;
  ENDPOINTS?: string | object;
  GEMINI_RETRY_PROMPT_CN?: string;
  GEMINI_RETRY_PROMPT_EN?: string;
  GEMINI_RETRY_PROMPT_JA?: string;
  GEMINI_RETRY_PROMPT_KO?: string;
  GEMINI_ENGINE?: string;
  DROP_REQUEST_HEADERS?: string;
  STREAM_GUARD?: string | object;
  STREAM_REPAIR_ENABLED?: string | boolean;
  STREAM_REPAIR?: string;
  HEALTH_SHARDING?: string;
  REQUEST_LOG?: string;
}

export type GeminiEngineConfig = ReturnType<typeof parseGeminiEngineConfig>;

export interface GatewayConfig {
  authToken: string | null;
  presetAuthEnabled: boolean;
  geminiSpecialHandling: boolean;
  debug: boolean;
  aggressiveFallback: boolean;
  allowPrivateTargets: boolean;
  /** Only the prompts the operator set; the Gemini engine fills in its built-in ones. */
  retryPromptOverrides: Partial<RetryPrompts>;
  /** `GEMINI_ENGINE`: overrides of the anti-truncation engine's bounds and grace period. */
  geminiEngine: GeminiEngineConfig;
  /** Presets merged with `ENDPOINTS`, by route name. */
  endpoints: ReadonlyMap<string, EndpointConfig>;
  /** Route names `ENDPOINTS` added or replaced (the dashboard marks them). */
  overridden: ReadonlySet<string>;
  /** `DROP_REQUEST_HEADERS`: client headers the operator adds to the header policy. */
  extraDroppedHeaders: ExtraHeaderDrops;
  /** `STREAM_GUARD`: bounds of the stream integrity guard (hold before commit, idle). */
  streamGuard: StreamGuardConfig;
  /**
   * `STREAM_REPAIR_ENABLED` (repair of OpenAI chat / Anthropic streams on endpoints without their own `repair`)
   * and `STREAM_REPAIR` (the repair engine's bounds and grace period, the fields of `GEMINI_ENGINE`).
   */
  streamRepair: { enabled: boolean } & GeminiEngineConfig;
  /** `HEALTH_SHARDING`: `region` (default) keeps endpoint health per continent, `off` in one object (`health-shards.ts`). */
  healthSharding: HealthSharding;
  /** `REQUEST_LOG`: which requests get their log line (`log.ts`). */
  requestLog: RequestLogLevel;
}

/**
 * `REQUEST_LOG`: `all` (default) writes one line per request; `errors` only for requests that did not go cleanly
 * (see `wantsLogLine` in `log.ts`); `off` none. Session summaries and the objects' own lines are not affected.
 */
export const REQUEST_LOG_LEVELS = ["all", "errors", "off"] as const;
export type RequestLogLevel = (typeof REQUEST_LOG_LEVELS)[number];

/** Defaults of DESIGN §5, also shown by the dashboard. */
export const BOOLEAN_DEFAULTS = {
  PRESET_AUTH_ENABLED: false,
  GEMINI_SPECIAL_HANDLING_ENABLED: true,
  DEBUG_MODE: false,
  AGGRESSIVE_FALLBACK: true,
  ALLOW_PRIVATE_TARGETS: false,
  STREAM_REPAIR_ENABLED: false,
} as const;

/** First path segments the router owns; an endpoint may not take them. */
export const RESERVED_ROUTE_NAMES = new Set([
  "health",
  "healthz",
  "metrics",
  "sessions",
  "http",
  "https",
  "ws",
  "wss",
]);

const ENDPOINT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

export function parseBoolean(variable: string, raw: unknown, fallback: boolean): boolean {
  if (raw === undefined || raw === null || raw === "") return fallback;
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new ConfigError(
    variable,
    `expected a boolean (true/false, 1/0, yes/no, on/off), got ${JSON.stringify(raw)}`,
  );
}

/** Every variable `parseConfig` reads (the cache key, and what `npm run check-config` collects). */
export const GATEWAY_VARIABLES = [
  "AUTH_TOKEN",
  "PRESET_AUTH_ENABLED",
  "GEMINI_SPECIAL_HANDLING_ENABLED",
  "DEBUG_MODE",
  "AGGRESSIVE_FALLBACK",
  "ALLOW_PRIVATE_TARGETS",
  "ENDPOINTS",
  "GEMINI_RETRY_PROMPT_CN",
  "GEMINI_RETRY_PROMPT_EN",
  "GEMINI_RETRY_PROMPT_JA",
  "GEMINI_RETRY_PROMPT_KO",
  "GEMINI_ENGINE",
  "DROP_REQUEST_HEADERS",
  "STREAM_GUARD",
  "STREAM_REPAIR_ENABLED",
  "STREAM_REPAIR",
  "HEALTH_SHARDING",
  "REQUEST_LOG",
] as const satisfies readonly (keyof GatewayVars)[];
/** Fails to compile when a variable of `GatewayVars` is missing from `GATEWAY_VARIABLES` (the cache key). */
type EveryVariableListed<Unlisted extends never> = Unlisted;
export type GatewayVariablesComplete = EveryVariableListed<
  Exclude<keyof GatewayVars, (typeof GATEWAY_VARIABLES)[number]>
>;

let cached: { vars: GatewayVars; key: string; config: GatewayConfig } | null = null;

export function loadConfig(vars: GatewayVars): GatewayConfig {
  // The runtime hands every request of an isolate the same `env` object (bindings never change under
  // it): then even building the key (serializing every variable, `ENDPOINTS` included) is skipped.
  if (cached?.vars === vars) return cached.config;
  const key = JSON.stringify(GATEWAY_VARIABLES.map((name) => vars[name]));
  if (cached?.key === key) {
    cached = { vars, key, config: cached.config };
    return cached.config;
  }
  const config = parseConfig(vars);
  cached = { vars, key, config };
  return config;
}

/**
 * How a parsing step reports a `ConfigError`. The Worker lets the first one propagate (`throwFirst`:
 * a request fails with it); `collectConfigProblems` records each one and carries on with `fallback`,
 * so a single check names every problem. A step is as small as one target or one field, so a problem
 * never hides another one elsewhere.
 */
type Check = <T>(step: () => T, fallback: T) => T;
const throwFirst: Check = (step) => step();

/** Parses the variables; throws the first problem as a `ConfigError`. */
export function parseConfig(vars: GatewayVars): GatewayConfig {
  return parseConfigWith(vars, throwFirst);
}

/**
 * Parses the variables and returns every problem (each a `ConfigError` whose `variable` is its path,
 * e.g. `ENDPOINTS.mygroq.targets[1]`) and, when there is none, the configuration.
 */
export function collectConfigProblems(vars: GatewayVars): {
  config: GatewayConfig | null;
  problems: ConfigError[];
} {
  const problems: ConfigError[] = [];
  const collect: Check = (step, fallback) => {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return fallback;
    }
  };
  const config = parseConfigWith(vars, collect);
  return { config: problems.length === 0 ? config : null, problems };
}

function parseConfigWith(vars: GatewayVars, check: Check): GatewayConfig {
  const retryPromptOverrides: Partial<RetryPrompts> = {};
  for (const lang of ["cn", "en", "ja", "ko"] as const) {
    const value = vars[`GEMINI_RETRY_PROMPT_${lang.toUpperCase()}` as keyof GatewayVars];
    if (typeof value === "string" && value.trim() !== "") retryPromptOverrides[lang] = value;
  }
  const { endpoints, overridden } = mergeEndpoints(BUILTIN_PRESETS, vars.ENDPOINTS, check);
  const token = typeof vars.AUTH_TOKEN === "string" ? vars.AUTH_TOKEN.trim() : "";
  const boolean = (variable: keyof typeof BOOLEAN_DEFAULTS): boolean =>
    check(
      () => parseBoolean(variable, vars[variable], BOOLEAN_DEFAULTS[variable]),
      BOOLEAN_DEFAULTS[variable],
    );
  return {
    authToken: token === "" ? null : token,
    presetAuthEnabled: boolean("PRESET_AUTH_ENABLED"),
    geminiSpecialHandling: boolean("GEMINI_SPECIAL_HANDLING_ENABLED"),
    debug: boolean("DEBUG_MODE"),
    aggressiveFallback: boolean("AGGRESSIVE_FALLBACK"),
    allowPrivateTargets: boolean("ALLOW_PRIVATE_TARGETS"),
    retryPromptOverrides,
    geminiEngine: check(() => parseGeminiEngineConfig(vars.GEMINI_ENGINE), { bounds: {} }),
    endpoints,
    overridden,
    extraDroppedHeaders: check(() => parseHeaderDrops(vars.DROP_REQUEST_HEADERS), NO_EXTRA_HEADER_DROPS),
    streamGuard: check(() => parseStreamGuardConfig(vars.STREAM_GUARD), { ...DEFAULT_STREAM_GUARD }),
    streamRepair: {
      enabled: boolean("STREAM_REPAIR_ENABLED"),
      ...check(() => parseGeminiEngineConfig(vars.STREAM_REPAIR, "STREAM_REPAIR"), { bounds: {} }),
    },
    healthSharding: check(
      () => parseChoice("HEALTH_SHARDING", vars.HEALTH_SHARDING, HEALTH_SHARDING_VALUES),
      "region",
    ),
    requestLog: check(() => parseChoice("REQUEST_LOG", vars.REQUEST_LOG, REQUEST_LOG_LEVELS), "all"),
  };
}

/** A variable that names one of `values` (any case, spaces around ignored); unset or empty is the first. */
function parseChoice<T extends string>(variable: keyof GatewayVars, raw: unknown, values: readonly T[]): T {
  if (raw === undefined || raw === null || raw === "") return values[0] as T;
  const value = typeof raw === "string" ? raw.trim().toLowerCase() : raw;
  const known = values.find((v) => v === value);
  if (known === undefined) {
    throw new ConfigError(variable, `expected ${values.join(" or ")}, got ${JSON.stringify(raw)}`);
  }
  return known;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * `DROP_REQUEST_HEADERS`: header names separated by commas or whitespace, matched case-insensitively;
 * `x-acme-*` drops every name with that prefix. Anything that is not a header name is refused.
 */
function parseHeaderDrops(raw: unknown): ExtraHeaderDrops {
  if (raw === undefined || raw === null || raw === "") return NO_EXTRA_HEADER_DROPS;
  if (typeof raw !== "string") {
    throw new ConfigError("DROP_REQUEST_HEADERS", "expected header names separated by commas");
  }
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of raw.split(/[\s,]+/)) {
    if (entry === "") continue;
    const name = entry.toLowerCase();
    const prefix = name.endsWith("*") ? name.slice(0, -1) : null;
    if (!HEADER_NAME.test(prefix ?? name) || (prefix ?? name).includes("*")) {
      throw new ConfigError(
        "DROP_REQUEST_HEADERS",
        `${JSON.stringify(entry)} is not a header name (use letters, digits and -, optionally ending in * for a prefix)`,
      );
    }
    if (prefix !== null) prefixes.push(prefix);
    else names.add(name);
  }
  return { names, prefixes };
}

function presetToEndpoint(preset: PresetDefinition, byName: Map<string, PresetDefinition>): EndpointConfig {
  const source = preset.aliasOf ? (byName.get(preset.aliasOf) ?? preset) : preset;
  return {
    name: preset.name,
    displayName: preset.displayName,
    targets: source.targets.map((url) => ({ url: trimSlash(url), weight: 1 })),
    transport: source.transport,
    gemini: source.gemini === true,
    ...(source.keyPlacement ? { keyPlacement: source.keyPlacement } : {}),
    ...(source.continuation ? { continuation: source.continuation } : {}),
  };
}

/** Applies `ENDPOINTS` (DESIGN §5.1) over the presets: a key adds or replaces, `null` removes. */
export function mergeEndpoints(
  presets: readonly PresetDefinition[],
  raw: string | object | undefined,
  check: Check = throwFirst,
): { endpoints: Map<string, EndpointConfig>; overridden: Set<string> } {
  const byName = new Map(presets.map((p) => [p.name, p]));
  const endpoints = new Map(presets.map((p) => [p.name, presetToEndpoint(p, byName)]));
  const overridden = new Set<string>();
  const overrides = check(() => parseEndpointsJson(raw), {});
  for (const [name, value] of Object.entries(overrides)) {
    const named = check(() => {
      if (!ENDPOINT_NAME.test(name) || RESERVED_ROUTE_NAMES.has(name)) {
        throw new ConfigError(
          "ENDPOINTS",
          `endpoint name ${JSON.stringify(name)} must be lower-case letters, digits, '.', '_' or '-' and not one of ${[...RESERVED_ROUTE_NAMES].join(", ")}`,
        );
      }
      return true;
    }, false);
    if (!named) continue;
    if (value === null) {
      endpoints.delete(name);
      overridden.delete(name);
      continue;
    }
    const endpoint = check(() => parseEndpoint(name, value, endpoints.get(name), check), null);
    if (endpoint === null) continue;
    endpoints.set(name, endpoint);
    overridden.add(name);
  }
  return { endpoints, overridden };
}

function parseEndpointsJson(raw: string | object | undefined): Record<string, unknown> {
  if (raw === undefined || raw === "") return {};
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError("ENDPOINTS", `not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("ENDPOINTS", "must be a JSON object keyed by endpoint name");
  }
  return value as Record<string, unknown>;
}

const ENDPOINT_FIELDS = new Set([
  "targets",
  "transport",
  "gemini",
  "displayName",
  "health",
  "keys",
  "repair",
  "continuation",
]);

const CONTINUATION_METHODS: readonly ContinuationMethod[] = ["prefix", "partial", "prompt"];

function parseEndpoint(
  name: string,
  value: unknown,
  replaced: EndpointConfig | undefined,
  check: Check,
): EndpointConfig {
  const where = `ENDPOINTS.${name}`;
  // A bare URL or URL list is shorthand for `{ "targets": … }`.
  const spec = (typeof value === "string" || Array.isArray(value) ? { targets: value } : value) as Record<
    string,
    unknown
  >;
  if (typeof spec !== "object" || spec === null) {
    throw new ConfigError(where, "must be an object with `targets`, a URL, a list of URLs, or null");
  }
  for (const field of Object.keys(spec)) {
    if (!ENDPOINT_FIELDS.has(field)) {
      check(() => {
        throw new ConfigError(
          where,
          `unknown field ${JSON.stringify(field)} (known: ${[...ENDPOINT_FIELDS].join(", ")})`,
        );
      }, undefined);
    }
  }
  const targets = check(() => parseTargets(where, spec.targets, check), []);
  const transport = check(() => {
    const value = spec.transport ?? replaced?.transport ?? "socket";
    if (value !== "socket" && value !== "fetch") {
      throw new ConfigError(
        `${where}.transport`,
        `must be "socket" or "fetch", got ${JSON.stringify(value)}`,
      );
    }
    return value as TransportKind;
  }, "socket");
  const gemini = check(() => {
    const value = spec.gemini ?? replaced?.gemini ?? false;
    if (typeof value !== "boolean") throw new ConfigError(`${where}.gemini`, "must be true or false");
    return value;
  }, false);
  const displayName = check(() => {
    const value = spec.displayName ?? replaced?.displayName ?? name;
    if (typeof value !== "string") throw new ConfigError(`${where}.displayName`, "must be a string");
    return value;
  }, name);
  const endpoint: EndpointConfig = { name, displayName, targets, transport, gemini };
  if (spec.health !== undefined) {
    const health = check(() => parseHealth(name, spec.health), undefined);
    if (health !== undefined) endpoint.health = health;
  }
  if (replaced?.keyPlacement) endpoint.keyPlacement = replaced.keyPlacement;
  const repair = check(() => {
    const value = spec.repair ?? replaced?.repair;
    if (value !== undefined && typeof value !== "boolean") {
      throw new ConfigError(`${where}.repair`, `must be true or false, got ${JSON.stringify(value)}`);
    }
    return value;
  }, undefined);
  if (repair !== undefined) endpoint.repair = repair;
  const continuation = check(() => {
    const value = spec.continuation ?? replaced?.continuation;
    if (value !== undefined && !CONTINUATION_METHODS.includes(value as ContinuationMethod)) {
      throw new ConfigError(
        `${where}.continuation`,
        `must be one of ${CONTINUATION_METHODS.map((m) => `"${m}"`).join(", ")}, got ${JSON.stringify(value)}`,
      );
    }
    return value as ContinuationMethod | undefined;
  }, undefined);
  if (continuation !== undefined) endpoint.continuation = continuation;
  if (spec.keys !== undefined && spec.keys !== null) {
    const keys = check(() => parseKeyPoolSpec(`${where}.keys`, spec.keys, endpoint.keyPlacement), undefined);
    if (keys !== undefined) endpoint.keys = keys;
  }
  return endpoint;
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const KEY_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `keys`: `{ "secret": "NAME" }` plus at most one of `"header": "x-api-key"` (the bare key in that
 * header; `authorization` means `Bearer <key>`) or `"query": "key"`; without either, the preset's own
 * placement or `Authorization: Bearer`. The keys themselves live in the secret (`src/keys/`).
 */
function parseKeyPoolSpec(where: string, raw: unknown, inherited: KeyPlacement | undefined): KeyPoolSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(where, 'must be an object like {"secret": "GEMINI_KEYS"}');
  }
  const spec = raw as Record<string, unknown>;
  for (const field of Object.keys(spec)) {
    if (field !== "secret" && field !== "header" && field !== "query") {
      throw new ConfigError(where, `unknown field ${JSON.stringify(field)} (known: secret, header, query)`);
    }
  }
  if (typeof spec.secret !== "string" || !SECRET_NAME.test(spec.secret)) {
    throw new ConfigError(`${where}.secret`, 'must name the secret that holds the keys, e.g. "GEMINI_KEYS"');
  }
  if (spec.header !== undefined && spec.query !== undefined) {
    throw new ConfigError(where, "give either `header` or `query`, not both");
  }
  let placement: KeyPlacement = inherited ?? { kind: "bearer" };
  if (spec.header !== undefined) {
    if (typeof spec.header !== "string" || !KEY_HEADER_NAME.test(spec.header)) {
      throw new ConfigError(`${where}.header`, 'must be an HTTP header name such as "x-api-key"');
    }
    const name = spec.header.toLowerCase();
    placement = name === "authorization" ? { kind: "bearer" } : { kind: "header", name };
  } else if (spec.query !== undefined) {
    if (typeof spec.query !== "string" || !/^[A-Za-z0-9._~-]+$/.test(spec.query)) {
      throw new ConfigError(`${where}.query`, 'must be a query parameter name such as "key"');
    }
    placement = { kind: "query", name: spec.query };
  }
  return { secret: spec.secret, placement };
}

function parseTargets(where: string, raw: unknown, check: Check): TargetConfig[] {
  const list =
    typeof raw === "string" || (typeof raw === "object" && raw !== null && !Array.isArray(raw)) ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(
      `${where}.targets`,
      "must be a URL or a non-empty list of URLs or {url, weight} objects",
    );
  }
  const targets: TargetConfig[] = [];
  list.forEach((entry, i) => {
    const target = check(() => parseTarget(`${where}.targets[${i}]`, entry), null);
    if (target !== null) targets.push(target);
  });
  return targets;
}

function parseTarget(at: string, entry: unknown): TargetConfig {
  const spec = typeof entry === "string" ? { url: entry, weight: 1 } : (entry as Record<string, unknown>);
  if (typeof spec !== "object" || spec === null || typeof spec.url !== "string") {
    throw new ConfigError(at, "must be a URL string or an object with a `url` string");
  }
  const weight = spec.weight ?? 1;
  if (typeof weight !== "number" || !Number.isFinite(weight) || weight <= 0) {
    throw new ConfigError(`${at}.weight`, `must be a positive number, got ${JSON.stringify(weight)}`);
  }
  return { url: parseTargetUrl(at, spec.url), weight };
}

function parseTargetUrl(at: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(at, `not an absolute URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(at, `must be an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(at, "must not carry a query, fragment or credentials");
  }
  return trimSlash(`${url.protocol}//${url.host}${url.pathname}`);
}

/** Thresholds are checked here, at load time, by the same policy code that uses them. */
function parseHealth(name: string, raw: unknown): Record<string, number> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`ENDPOINTS.${name}.health`, "must be an object of numeric thresholds");
  }
  const overrides = raw as Record<string, number>;
  resolveHealthPolicy(overrides, name);
  return { ...overrides };
}

function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

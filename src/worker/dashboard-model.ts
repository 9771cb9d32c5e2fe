/**
 * What the dashboard shows, derived from the parsed configuration (pure). Nothing secret survives
 * this step: the token becomes "set"/"unset", retry prompts become "built in"/"custom", and targets
 * are shown by host only (a base path could carry an account id the public page should not show).
 */

import { HEALTH_SHARDING_VALUES } from "../durable/health/health-shards";
import { DEFAULT_STREAM_GUARD, type StreamGuardConfig } from "../stream/guard-config";
import type { TransportKind } from "../transport/endpoint";
import { BOOLEAN_DEFAULTS, type GatewayConfig, REQUEST_LOG_LEVELS } from "./config";
import type { StringKey } from "./dashboard-i18n";
import { BUILTIN_PRESETS } from "./presets";

export interface EndpointCard {
  name: string;
  displayName: string;
  /** `host[:port]` of each target, in configuration order. */
  hosts: string[];
  weights: number[];
  transport: TransportKind;
  gemini: boolean;
  overridden: boolean;
  aliasOf: string | null;
  note: string | null;
}

/** A configuration value: literal text, or a translated word. */
export type ConfigValue = { text: string } | { key: StringKey; args?: Record<string, number> };

export interface ConfigRow {
  variable: string;
  defaultValue: ConfigValue;
  effective: ConfigValue;
  /** Differs from the default. */
  changed: boolean;
  secret: boolean;
  meaning: StringKey;
}

export interface DashboardWarning {
  level: "warn" | "info";
  key: StringKey;
}

export interface DashboardModel {
  endpoints: EndpointCard[];
  config: ConfigRow[];
  warnings: DashboardWarning[];
  authConfigured: boolean;
  presetAuth: boolean;
  geminiEndpoint: string | null;
  openaiEndpoint: string | null;
  anthropicEndpoint: string | null;
}

const PRESET_BY_NAME = new Map(BUILTIN_PRESETS.map((p) => [p.name, p]));

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const bool = (value: boolean): ConfigValue => ({ text: String(value) });

export function buildDashboardModel(config: GatewayConfig): DashboardModel {
  const endpoints: EndpointCard[] = [...config.endpoints.values()]
    .map((endpoint) => {
      const overridden = config.overridden.has(endpoint.name);
      const preset = overridden ? undefined : PRESET_BY_NAME.get(endpoint.name);
      return {
        name: endpoint.name,
        displayName: endpoint.displayName,
        hosts: endpoint.targets.map((target) => hostOf(target.url)),
        weights: endpoint.targets.map((target) => target.weight),
        transport: endpoint.transport,
        gemini: endpoint.gemini,
        overridden,
        aliasOf: preset?.aliasOf ?? null,
        note: preset?.note ?? null,
      };
    })
    .sort((a, b) => Number(b.overridden) - Number(a.overridden) || a.name.localeCompare(b.name));

  const booleans: [keyof typeof BOOLEAN_DEFAULTS, boolean, StringKey][] = [
    ["PRESET_AUTH_ENABLED", config.presetAuthEnabled, "descPresetAuth"],
    ["GEMINI_SPECIAL_HANDLING_ENABLED", config.geminiSpecialHandling, "descGemini"],
    ["DEBUG_MODE", config.debug, "descDebug"],
    ["AGGRESSIVE_FALLBACK", config.aggressiveFallback, "descAggressive"],
    ["ALLOW_PRIVATE_TARGETS", config.allowPrivateTargets, "descPrivate"],
    ["STREAM_REPAIR_ENABLED", config.streamRepair.enabled, "descStreamRepair"],
  ];
  const rows: ConfigRow[] = [
    {
      variable: "AUTH_TOKEN",
      defaultValue: { key: "unset" },
      effective: { key: config.authToken === null ? "unset" : "set" },
      changed: config.authToken !== null,
      secret: true,
      meaning: "descAuth",
    },
  ];
  for (const [variable, value, meaning] of booleans) {
    rows.push({
      variable,
      defaultValue: bool(BOOLEAN_DEFAULTS[variable]),
      effective: bool(value),
      changed: value !== BOOLEAN_DEFAULTS[variable],
      secret: false,
      meaning,
    });
  }
  for (const lang of ["cn", "en", "ja", "ko"] as const) {
    const custom = config.retryPromptOverrides[lang] !== undefined;
    rows.push({
      variable: `GEMINI_RETRY_PROMPT_${lang.toUpperCase()}`,
      defaultValue: { key: "builtIn" },
      effective: { key: custom ? "custom" : "builtIn" },
      changed: custom,
      secret: false,
      meaning: "descRetry",
    });
  }
  const engineOverrides =
    Object.keys(config.geminiEngine.bounds).length + (config.geminiEngine.graceMs === undefined ? 0 : 1);
  rows.push({
    variable: "GEMINI_ENGINE",
    defaultValue: { key: "builtIn" },
    effective: engineOverrides === 0 ? { key: "builtIn" } : { key: "custom" },
    changed: engineOverrides > 0,
    secret: false,
    meaning: "descEngine",
  });
  const guardOverrides = (Object.keys(DEFAULT_STREAM_GUARD) as (keyof StreamGuardConfig)[]).filter(
    (field) => config.streamGuard[field] !== DEFAULT_STREAM_GUARD[field],
  ).length;
  rows.push({
    variable: "STREAM_GUARD",
    defaultValue: { key: "builtIn" },
    effective: guardOverrides === 0 ? { key: "builtIn" } : { key: "custom" },
    changed: guardOverrides > 0,
    secret: false,
    meaning: "descStreamGuard",
  });
  const repairOverrides =
    Object.keys(config.streamRepair.bounds).length + (config.streamRepair.graceMs === undefined ? 0 : 1);
  rows.push({
    variable: "STREAM_REPAIR",
    defaultValue: { key: "builtIn" },
    effective: repairOverrides === 0 ? { key: "builtIn" } : { key: "custom" },
    changed: repairOverrides > 0,
    secret: false,
    meaning: "descStreamRepairBounds",
  });
  for (const [variable, effective, defaultValue, meaning] of [
    ["REQUEST_LOG", config.requestLog, REQUEST_LOG_LEVELS[0], "descRequestLog"],
    ["HEALTH_SHARDING", config.healthSharding, HEALTH_SHARDING_VALUES[0], "descHealthSharding"],
  ] as const) {
    rows.push({
      variable,
      defaultValue: { text: defaultValue },
      effective: { text: effective },
      changed: effective !== defaultValue,
      secret: false,
      meaning,
    });
  }
  rows.push({
    variable: "ENDPOINTS",
    defaultValue: { text: "{}" },
    effective:
      config.overridden.size === 0
        ? { text: "{}" }
        : { key: "endpointsEffective", args: { n: config.overridden.size } },
    changed: config.overridden.size > 0,
    secret: false,
    meaning: "descEndpoints",
  });

  const warnings: DashboardWarning[] = [];
  if (config.authToken === null) warnings.push({ level: "warn", key: "warnNoToken" });
  if (!config.presetAuthEnabled) warnings.push({ level: "warn", key: "warnPresetsPublic" });
  if (config.allowPrivateTargets) warnings.push({ level: "warn", key: "warnPrivate" });
  if (config.debug) warnings.push({ level: "info", key: "warnDebug" });

  const has = (name: string) => (config.endpoints.has(name) ? name : null);
  const firstGemini = endpoints.find((e) => e.gemini)?.name ?? null;
  return {
    endpoints,
    config: rows,
    warnings,
    authConfigured: config.authToken !== null,
    presetAuth: config.presetAuthEnabled,
    geminiEndpoint: has("gemini") ?? firstGemini,
    openaiEndpoint: has("openai"),
    anthropicEndpoint: has("claude") ?? has("anthropic"),
  };
}

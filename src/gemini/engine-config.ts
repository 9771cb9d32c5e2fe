import { ConfigError } from "../transport/errors";
import type { EngineBounds } from "./engine-types";

/** How long a session keeps generating after its last client left, waiting for a re-attach. */
export const DEFAULT_GRACE_MS = 15_000;

/**
 * Optional operator overrides of the engine's bounds and grace period as one JSON variable (e.g.
 * `GEMINI_ENGINE='{"maxContinuations":6,"idleTimeoutMs":30000,"graceMs":5000}'`), validated strictly.
 */
export function parseGeminiEngineConfig(
  raw: string | undefined,
  variable = "GEMINI_ENGINE",
): { bounds: Partial<EngineBounds>; graceMs?: number } {
  if (raw === undefined || raw.trim() === "") return { bounds: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, "must be a JSON object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(variable, "must be a JSON object");
  }
  const known = new Set([
    "maxContinuations",
    "maxAttempts",
    "deadlineMs",
    "firstByteTimeoutMs",
    "idleTimeoutMs",
    "rateLimitDefaultDelayMs",
    "rateLimitMaxDelayMs",
    "serverErrorBaseDelayMs",
    "serverErrorMaxDelayMs",
    "graceMs",
  ]);
  const bounds: Record<string, number> = {};
  let graceMs: number | undefined;
  for (const [key, v] of Object.entries(value)) {
    if (!known.has(key)) throw new ConfigError(variable, `unknown field ${key}`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(variable, `${key} must be a non-negative number`);
    }
    if (key === "graceMs") graceMs = v;
    else bounds[key] = v;
  }
  return { bounds: bounds as Partial<EngineBounds>, ...(graceMs !== undefined ? { graceMs } : {}) };
}

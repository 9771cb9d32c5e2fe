/**
 * What an upstream answer says about the key that was used (pure). Only answers about the key change
 * its state; everything else is the target's business (`health-policy.ts`).
 *
 * - 401, 403, and a 400 whose error names an invalid key (Gemini: `API_KEY_INVALID`, "API key not
 *   valid") → `invalid`;
 * - 402, OpenAI's `insufficient_quota`, Anthropic's "credit balance is too low", and a Gemini 429
 *   whose `QuotaFailure` names a per-day quota → `exhausted` for `KEY_EXHAUSTED_COOLDOWN_MS` (or the
 *   provider's delay when longer, capped at `KEY_EXHAUSTED_MAX_MS`);
 * - any other 429 → `rate_limited` for the provider's delay: `retry-after-ms`, then `Retry-After`
 *   (seconds or an HTTP date), then Gemini's `RetryInfo.retryDelay` in the error JSON; defaulted to
 *   `KEY_RATE_LIMIT_DEFAULT_MS` and capped at `KEY_RATE_LIMIT_MAX_MS`.
 *
 * `needsBody(status)` says when the error body must be read to decide (it is small JSON).
 */
import { upstreamRetryDelayMs } from "../stream/retry-delay";
import type { KeyOutcomeKind } from "./key-state";

/** Cool-down of a 429 that names no delay. */
export const KEY_RATE_LIMIT_DEFAULT_MS = 15_000;
/** Longest rate-limit cool-down honoured, whatever the provider says. */
export const KEY_RATE_LIMIT_MAX_MS = 600_000;
/** Cool-down of a key whose quota or credit is spent (providers reset daily quotas; an hour re-checks sooner). */
export const KEY_EXHAUSTED_COOLDOWN_MS = 3_600_000;
/** Cap of an exhaustion cool-down taken from the provider's own delay. */
export const KEY_EXHAUSTED_MAX_MS = 86_400_000;
/** Error bodies read for classification are at most this long (they are small JSON). */
export const KEY_ERROR_BODY_LIMIT_BYTES = 64 * 1024;

export interface KeyVerdict {
  kind: KeyOutcomeKind;
  cooldownMs?: number;
}

export function needsBody(status: number): boolean {
  return status === 400 || status === 429;
}

interface HeaderSource {
  get(name: string): string | null;
}

type Json = Record<string, unknown>;

function errorObject(body: unknown): Json | null {
  if (Array.isArray(body)) return errorObject(body[0]); // Gemini streaming errors may come as a list
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === "object" && error !== null ? (error as Json) : null;
}

function details(error: Json | null): Json[] {
  const list = error?.details;
  return Array.isArray(list) ? list.filter((d): d is Json => typeof d === "object" && d !== null) : [];
}

function isInvalidKeyError(error: Json | null): boolean {
  if (details(error).some((d) => d.reason === "API_KEY_INVALID")) return true;
  const message = typeof error?.message === "string" ? error.message : "";
  return /API key not valid|invalid api key|incorrect api key/i.test(message);
}

function isQuotaSpent(error: Json | null): boolean {
  if (error?.code === "insufficient_quota" || error?.type === "insufficient_quota") return true;
  const message = typeof error?.message === "string" ? error.message : "";
  if (/credit balance is too low/i.test(message)) return true;
  for (const d of details(error)) {
    if (typeof d["@type"] !== "string" || !d["@type"].endsWith("google.rpc.QuotaFailure")) continue;
    const violations = Array.isArray(d.violations) ? (d.violations as Json[]) : [];
    if (violations.some((v) => typeof v?.quotaId === "string" && /PerDay/i.test(v.quotaId))) return true;
  }
  return false;
}

/** The provider's delay in ms: `retry-after-ms`, `Retry-After`, then Gemini `RetryInfo`; null when none. */
export function providerDelayMs(headers: HeaderSource, body: unknown, now: number): number | null {
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const header = headers.get("retry-after")?.trim();
  if (header) {
    const fromHeader = upstreamRetryDelayMs(headers, null, now);
    if (fromHeader !== null) return fromHeader;
  }
  return upstreamRetryDelayMs(null, Array.isArray(body) ? body[0] : body, now);
}

export function classifyKeyResponse(
  status: number,
  headers: HeaderSource,
  body: unknown,
  now: number,
): KeyVerdict {
  const error = errorObject(body);
  if (status === 401 || status === 403) return { kind: "invalid" };
  if (status === 400) {
    if (isInvalidKeyError(error)) return { kind: "invalid" };
    if (isQuotaSpent(error)) return { kind: "exhausted", cooldownMs: KEY_EXHAUSTED_COOLDOWN_MS };
    return { kind: "other" };
  }
  if (status === 402 || (status === 429 && isQuotaSpent(error))) {
    const delay = providerDelayMs(headers, body, now) ?? 0;
    return {
      kind: "exhausted",
      cooldownMs: Math.min(Math.max(delay, KEY_EXHAUSTED_COOLDOWN_MS), KEY_EXHAUSTED_MAX_MS),
    };
  }
  if (status === 429) {
    const delay = providerDelayMs(headers, body, now) ?? KEY_RATE_LIMIT_DEFAULT_MS;
    return { kind: "rate_limited", cooldownMs: Math.min(Math.max(0, delay), KEY_RATE_LIMIT_MAX_MS) };
  }
  return { kind: status < 400 ? "success" : "other" };
}

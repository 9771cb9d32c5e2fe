/**
 * Bounds of the stream integrity guard and their operator overrides (`STREAM_GUARD`, a JSON object,
 * e.g. `STREAM_GUARD='{"holdMs":10000,"idleMs":120000}'`), validated strictly.
 *
 * Why these numbers:
 * - The hold keeps a stream's start (headers and first events) back until its first content event, so
 *   that a failure before any content can fail over to another target invisibly. Before content, an
 *   OpenAI stream sends one role chunk, an Anthropic stream `message_start` and perhaps a `ping`, a
 *   Responses stream two or three lifecycle events: 64 events or 64 KiB is far more than any healthy
 *   start needs, and a stream that keeps talking without content past it is committed as it is.
 * - `holdMs`: a target that sends no content within 30 s of its response head counts as stalled and
 *   the request goes to the next target. A model that reasons silently for longer (chat completions
 *   send nothing while an o-series model thinks) costs a retry on each target but the last one, which
 *   is never held: raise `holdMs` for such endpoints.
 * - `idleMs`: the longest silence between two upstream reads once the stream was delivered, the same
 *   bound as the transport's own idle timeout (`IDLE_TIMEOUT_MS`): long enough for a slow model,
 *   short enough that a dead connection does not hang the client for ever.
 */
import { ConfigError } from "../transport/errors";
import { IDLE_TIMEOUT_MS } from "../transport/timeouts";

/** Events held at most before the first content event; beyond, the stream is committed as it is. */
export const STREAM_HOLD_MAX_EVENTS = 64;
/** Bytes held at most before the first content event; beyond, the stream is committed as it is. */
export const STREAM_HOLD_MAX_BYTES = 64 * 1024;
/** A stream that sends no content event within this time after its head fails over (when it can). */
export const STREAM_HOLD_MAX_MS = 30_000;
/** Longest silence between two upstream reads of a guarded stream. */
export const STREAM_IDLE_TIMEOUT_MS = IDLE_TIMEOUT_MS;

export interface StreamGuardConfig {
  holdEvents: number;
  holdBytes: number;
  holdMs: number;
  idleMs: number;
}

export const DEFAULT_STREAM_GUARD: Readonly<StreamGuardConfig> = Object.freeze({
  holdEvents: STREAM_HOLD_MAX_EVENTS,
  holdBytes: STREAM_HOLD_MAX_BYTES,
  holdMs: STREAM_HOLD_MAX_MS,
  idleMs: STREAM_IDLE_TIMEOUT_MS,
});

const UNITS: Record<keyof StreamGuardConfig, string> = {
  holdEvents: "events",
  holdBytes: "bytes",
  holdMs: "milliseconds",
  idleMs: "milliseconds",
};

/** `STREAM_GUARD` → the guard's bounds; every field optional, each a whole number ≥ 1. */
export function parseStreamGuardConfig(raw: unknown, variable = "STREAM_GUARD"): StreamGuardConfig {
  if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) {
    return { ...DEFAULT_STREAM_GUARD };
  }
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError(variable, `must be a JSON object such as {"holdMs": 10000}, got ${raw}`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(variable, `must be a JSON object such as {"holdMs": 10000}`);
  }
  const config: StreamGuardConfig = { ...DEFAULT_STREAM_GUARD };
  const known = Object.keys(UNITS) as (keyof StreamGuardConfig)[];
  for (const [key, v] of Object.entries(value)) {
    if (!known.includes(key as keyof StreamGuardConfig)) {
      throw new ConfigError(variable, `unknown field ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
    const field = key as keyof StreamGuardConfig;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new ConfigError(
        variable,
        `${key} must be a whole number of ${UNITS[field]} ≥ 1, got ${JSON.stringify(v)}`,
      );
    }
    config[field] = v;
  }
  return config;
}

/**
 * Scenario definitions for the scriptable Gemini mock (`gemini.mock.ts`). A scenario is registered with
 * `POST /__scenarios` and describes a ground-truth answer plus what each successive generation attempt does.
 * The wire format is documented in `gemini-mock-README.md`; keep the two in step.
 */

/** How an attempt ends (after the answer characters it emits). */
export type AttemptKind =
  | "complete"
  | "cut"
  | "cut-in-event"
  | "cut-in-char"
  | "stall"
  | "reset"
  | "error-event"
  | "finish"
  | "safety"
  | "max-tokens"
  | "blocked-prompt"
  | "empty-stop"
  | "thought-only-stop"
  | "http-error";

export const ATTEMPT_KINDS: readonly AttemptKind[] = [
  "complete",
  "cut",
  "cut-in-event",
  "cut-in-char",
  "stall",
  "reset",
  "error-event",
  "finish",
  "safety",
  "max-tokens",
  "blocked-prompt",
  "empty-stop",
  "thought-only-stop",
  "http-error",
];

export interface AttemptSpec {
  kind: AttemptKind;
  /** Answer characters (code points, decorations included) this attempt emits before its end behaviour. */
  afterChars?: number;
  /** Alternative to `afterChars`: stop when the ground-truth position reaches this absolute code-point index. */
  atChar?: number;
  /** Cut inside the thoughts instead: emit this many thought characters, no answer, then the end behaviour. */
  afterThoughtChars?: number;
  /** Thought text for this attempt (`false`: none). Default: the scenario's `thought`. */
  thought?: string | false;
  /** Text emitted before anything else of the answer ("Sure, here's the continuation:"). */
  preamble?: string;
  /** Re-send the last N characters of the partial answer found in the request before continuing. */
  repeatTail?: number;
  /** Restart the answer from its very beginning (identical replay), whatever was fed back. */
  replay?: boolean;
  /** Emit this text instead of the ground truth (a continuation that rewrites instead of continuing). */
  rewriteText?: string;
  /** Emit the scenario's `functionCall` as its own event after the answer characters, before the end behaviour. */
  functionCall?: boolean;
  /** Milliseconds before this attempt's response head (overrides the scenario's `firstByteDelayMs`). */
  firstByteDelayMs?: number;
  /** Pause after this many answer characters until `POST /__scenarios/{id}/release`. */
  holdAfterChars?: number;
  /** `finish` kind: the finishReason to end with (e.g. `RECITATION`, `OTHER`). */
  finishReason?: string;
  /** `blocked-prompt` kind: `promptFeedback.blockReason` (default `SAFETY`). */
  blockReason?: string;
  /** `http-error` status (default 503); `error-event` code (default 503). */
  status?: number;
  /** Error message for `http-error` / `error-event`. */
  message?: string;
  /** `http-error` 429: adds a `google.rpc.RetryInfo` detail with `retryDelay: "<n>s"`. */
  retryDelaySec?: number;
  /** `http-error`: adds a `Retry-After: <n>` header. */
  retryAfterSec?: number;
  /** `error-event`: `data` (a `data: {"error":…}` event, default) or `raw` (a pretty-printed object, no `data:`). */
  errorFormat?: "data" | "raw";
}

export interface ScenarioSpec {
  /** Ground-truth answer text. */
  answer: string;
  /** Ground-truth thought text, emitted (as `thought: true` parts) before the answer by every attempt. */
  thought?: string;
  /** A function call emitted in the final event of a `complete` attempt. */
  functionCall?: { name: string; args?: Record<string, unknown> };
  /** `thoughtSignature` carried by the function-call part (as thinking models send it). */
  thoughtSignature?: string;
  /** Answer/thought characters (code points) per event. Default 16. */
  chunkChars?: number;
  /** Milliseconds between events. Default 0 (each event still goes out as its own write). */
  chunkDelayMs?: number;
  /** Milliseconds before the response head is written. Default 0. */
  firstByteDelayMs?: number;
  /** Split each written event into writes of at most this many bytes (exercises UTF-8 splits). */
  splitWriteBytes?: number;
  /** SSE event separator. Default `\r\n\r\n` (what the Gemini API sends). */
  sseSeparator?: "\r\n\r\n" | "\n\n" | "\r\r";
  /** SSE data prefix. Default `data: `. */
  sseDataPrefix?: "data: " | "data:";
  /** `modelVersion` in every response. Default `gemini-mock-001`. */
  modelVersion?: string;
  /** Per-attempt behaviours, in order of arrival. Attempts beyond the list use `defaultAttempt`. */
  attempts?: AttemptSpec[];
  /** Behaviour after the `attempts` list is used up. Default `{ "kind": "complete" }`. */
  defaultAttempt?: AttemptSpec;
}

export class ScenarioValidationError extends Error {}

function isInt(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min;
}

function optString(o: Record<string, unknown>, key: string): void {
  if (o[key] !== undefined && typeof o[key] !== "string")
    throw new ScenarioValidationError(`${key} must be a string`);
}

function optInt(o: Record<string, unknown>, key: string, min: number): void {
  if (o[key] !== undefined && !isInt(o[key], min)) {
    throw new ScenarioValidationError(`${key} must be an integer >= ${min}`);
  }
}

function validateAttempt(raw: unknown, where: string): AttemptSpec {
  if (typeof raw !== "object" || raw === null)
    throw new ScenarioValidationError(`${where} must be an object`);
  const o = raw as Record<string, unknown>;
  const kind = o.kind ?? "complete";
  if (!ATTEMPT_KINDS.includes(kind as AttemptKind)) {
    throw new ScenarioValidationError(`${where}.kind must be one of ${ATTEMPT_KINDS.join(", ")}`);
  }
  for (const k of [
    "afterChars",
    "atChar",
    "afterThoughtChars",
    "repeatTail",
    "holdAfterChars",
    "firstByteDelayMs",
  ]) {
    optInt(o, k, 0);
  }
  optInt(o, "status", 100);
  optInt(o, "retryDelaySec", 0);
  optInt(o, "retryAfterSec", 0);
  for (const k of ["preamble", "rewriteText", "finishReason", "blockReason", "message"]) optString(o, k);
  if (o.thought !== undefined && o.thought !== false && typeof o.thought !== "string") {
    throw new ScenarioValidationError(`${where}.thought must be a string or false`);
  }
  if (o.functionCall !== undefined && typeof o.functionCall !== "boolean") {
    throw new ScenarioValidationError(`${where}.functionCall must be a boolean`);
  }
  if (o.replay !== undefined && typeof o.replay !== "boolean") {
    throw new ScenarioValidationError(`${where}.replay must be a boolean`);
  }
  if (o.errorFormat !== undefined && o.errorFormat !== "data" && o.errorFormat !== "raw") {
    throw new ScenarioValidationError(`${where}.errorFormat must be "data" or "raw"`);
  }
  return { ...(o as unknown as AttemptSpec), kind: kind as AttemptKind };
}

/** Checks a scenario posted to the control API; throws `ScenarioValidationError` naming the bad field. */
export function validateScenario(raw: unknown): ScenarioSpec {
  if (typeof raw !== "object" || raw === null)
    throw new ScenarioValidationError("scenario must be an object");
  const o = raw as Record<string, unknown>;
  if (typeof o.answer !== "string") throw new ScenarioValidationError("answer must be a string");
  optString(o, "thought");
  optString(o, "modelVersion");
  optString(o, "thoughtSignature");
  optInt(o, "chunkChars", 1);
  optInt(o, "chunkDelayMs", 0);
  optInt(o, "firstByteDelayMs", 0);
  optInt(o, "splitWriteBytes", 1);
  if (o.sseSeparator !== undefined && !["\r\n\r\n", "\n\n", "\r\r"].includes(o.sseSeparator as string)) {
    throw new ScenarioValidationError("sseSeparator must be one of \\r\\n\\r\\n, \\n\\n, \\r\\r");
  }
  if (o.sseDataPrefix !== undefined && o.sseDataPrefix !== "data: " && o.sseDataPrefix !== "data:") {
    throw new ScenarioValidationError('sseDataPrefix must be "data: " or "data:"');
  }
  if (o.functionCall !== undefined) {
    const fc = o.functionCall as Record<string, unknown> | null;
    if (typeof fc !== "object" || fc === null || typeof fc.name !== "string") {
      throw new ScenarioValidationError("functionCall must be { name, args? }");
    }
  }
  if (o.attempts !== undefined && !Array.isArray(o.attempts)) {
    throw new ScenarioValidationError("attempts must be an array");
  }
  const attempts = ((o.attempts as unknown[] | undefined) ?? []).map((a, i) =>
    validateAttempt(a, `attempts[${i}]`),
  );
  const defaultAttempt =
    o.defaultAttempt === undefined
      ? { kind: "complete" as const }
      : validateAttempt(o.defaultAttempt, "defaultAttempt");
  return { ...(o as unknown as ScenarioSpec), attempts, defaultAttempt };
}

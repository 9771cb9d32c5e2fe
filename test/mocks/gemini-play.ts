/**
 * "Plays the model" for the Gemini mock: finds where a request wants the answer continued from, and turns one
 * attempt's behaviour into a plan of response events plus how the connection ends. Pure (no I/O), so the mock's
 * own unit test can check it directly.
 */
import type { AttemptSpec, ScenarioSpec } from "./gemini-scenario";

export const DEFAULT_CHUNK_CHARS = 16;
export const DEFAULT_MODEL_VERSION = "gemini-mock-001";
/** Token accounting of the mock: one token per 4 code points, rounded up. */
export const CHARS_PER_TOKEN = 4;

type Json = Record<string, unknown>;

export interface ContentLike {
  role?: string;
  parts?: Array<{ text?: unknown; thought?: unknown; [k: string]: unknown }>;
}

export interface ContinuationPoint {
  /** Code-point index into the ground truth where this attempt continues (0: from the start). */
  from: number;
  /** Non-thought text of the model turn the continuation point was found in ("" when none). */
  partialText: string;
  /** Index in `contents` of that model turn (-1 when none). */
  modelTurnIndex: number;
}

export const codePoints = (s: string): string[] => Array.from(s);
export const tokens = (chars: number): number => Math.ceil(chars / CHARS_PER_TOKEN);

function turnText(c: ContentLike): string {
  return (c.parts ?? [])
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text as string)
    .join("");
}

/**
 * The continuation point of a request. Looks at the last model turn among the last two contents (a
 * continuation request ends `…, model(partial), user(prompt)`, or in the model turn itself), skipping a
 * model turn identical to the one at the same index in the scenario's first request (that one was part of
 * the original conversation). The point is the longest prefix of the ground truth that the turn's text ends
 * with, so a partial answer appended to a prefill turn is still found.
 */
export function findContinuationPoint(
  contents: ContentLike[],
  answer: string,
  originalContents: ContentLike[] | undefined,
): ContinuationPoint {
  const none = { from: 0, partialText: "", modelTurnIndex: -1 };
  if (contents === originalContents) return none; // the first request of a scenario is never a continuation
  for (let i = contents.length - 1; i >= Math.max(0, contents.length - 2); i--) {
    const c = contents[i];
    if (c?.role !== "model") continue;
    const orig = originalContents?.[i];
    if (orig !== undefined && JSON.stringify(orig) === JSON.stringify(c)) {
      return none;
    }
    const text = turnText(c);
    const truth = codePoints(answer);
    const textCps = codePoints(text);
    for (let k = Math.min(truth.length, textCps.length); k > 0; k--) {
      if (text.endsWith(truth.slice(0, k).join(""))) return { from: k, partialText: text, modelTurnIndex: i };
    }
    return { from: 0, partialText: text, modelTurnIndex: i };
  }
  return none;
}

/** All text (user and model, thought or not) a request carries, for `containsThoughtText`. */
export function requestTexts(contents: ContentLike[], extra: unknown[] = []): string {
  const texts: string[] = [];
  for (const c of contents) for (const p of c.parts ?? []) if (typeof p.text === "string") texts.push(p.text);
  for (const e of extra) if (typeof e === "string") texts.push(e);
  return texts.join("\n");
}

export type PlanStep =
  | { t: "event"; body: Json }
  | { t: "hold" }
  /** The event's bytes are written only partly: up to half (`half`) or into its first multi-byte character. */
  | { t: "partial"; body: Json; cut: "half" | "mid-char" }
  | { t: "error"; error: { code: number; message: string; status: string }; format: "data" | "raw" };

export interface AttemptPlan {
  /** Answer before the stream: status, Google error body, extra headers. */
  httpError?: { status: number; body: Json; headers: Record<string, string> };
  steps: PlanStep[];
  /** How the connection ends after the steps: a clean end, no end at all, or a TCP reset. */
  end: "close" | "stall" | "reset";
  /** Answer text and thought text the plan emits in full events (what a client would have received). */
  answerText: string;
  thoughtText: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function googleError(
  code: number,
  message: string,
): { code: number; message: string; status: string } {
  return { code, message, status: STATUS_NAMES[code] ?? "UNKNOWN" };
}

export interface PlanInput {
  scenario: ScenarioSpec;
  attempt: AttemptSpec;
  point: ContinuationPoint;
  /** Used in `responseId` (`mock-<scenarioId>-<attemptNumber>`). */
  scenarioId: string;
  attemptNumber: number;
  promptChars: number;
}

/** Turns one attempt into response events. */
export function planAttempt(input: PlanInput): AttemptPlan {
  const { scenario, attempt, point } = input;
  const kind = attempt.kind;
  if (kind === "http-error") return httpErrorPlan(attempt);
  const chunk = scenario.chunkChars ?? DEFAULT_CHUNK_CHARS;
  const truth = codePoints(scenario.answer);
  const partial = codePoints(point.partialText);

  // The attempt's answer stream: preamble + decoration + ground truth from the continuation point.
  let decoration: string[] = [];
  if (attempt.replay) decoration = truth.slice(0, point.from);
  else if (attempt.repeatTail) decoration = partial.slice(Math.max(0, partial.length - attempt.repeatTail));
  const body = attempt.rewriteText !== undefined ? codePoints(attempt.rewriteText) : truth.slice(point.from);
  const head = [...codePoints(attempt.preamble ?? ""), ...decoration];
  const stream = [...head, ...body];

  const thoughtSource = attempt.thought === undefined ? (scenario.thought ?? "") : attempt.thought || "";
  let thought = codePoints(
    kind === "thought-only-stop" && thoughtSource === "" ? "Thinking it over." : thoughtSource,
  );
  let emitChars = stream.length;
  const cutsEarly = !["complete", "empty-stop", "thought-only-stop", "blocked-prompt"].includes(kind);
  if (cutsEarly) {
    if (attempt.atChar !== undefined) emitChars = head.length + Math.max(0, attempt.atChar - point.from);
    else if (attempt.afterChars !== undefined) emitChars = attempt.afterChars;
    else emitChars = Math.ceil(stream.length / 2);
  }
  if (kind === "empty-stop" || kind === "thought-only-stop" || kind === "blocked-prompt") emitChars = 0;
  if (kind === "empty-stop" || kind === "blocked-prompt") thought = [];
  let thoughtCut = false;
  if (attempt.afterThoughtChars !== undefined) {
    thought = thought.slice(0, attempt.afterThoughtChars);
    emitChars = 0;
    thoughtCut = true;
  }
  emitChars = Math.min(emitChars, stream.length);

  const meta = {
    modelVersion: scenario.modelVersion ?? DEFAULT_MODEL_VERSION,
    responseId: `mock-${input.scenarioId}-${input.attemptNumber}`,
  };
  let thoughtChars = 0;
  let answerChars = 0;
  const usage = (): Json => {
    const u: Json = {
      promptTokenCount: tokens(input.promptChars),
      candidatesTokenCount: tokens(answerChars),
      totalTokenCount: tokens(input.promptChars) + tokens(answerChars) + tokens(thoughtChars),
    };
    if (thoughtChars > 0) u.thoughtsTokenCount = tokens(thoughtChars);
    return u;
  };
  const event = (parts: Json[], extra: Json = {}): Json => ({
    candidates: [{ content: { parts, role: "model" }, index: 0, ...extra }],
    usageMetadata: usage(),
    ...meta,
  });

  const steps: PlanStep[] = [];
  if (kind === "blocked-prompt") {
    steps.push({
      t: "event",
      body: {
        promptFeedback: { blockReason: attempt.blockReason ?? "SAFETY" },
        usageMetadata: usage(),
        ...meta,
      },
    });
    return { steps, end: "close", answerText: "", thoughtText: "" };
  }
  for (let i = 0; i < thought.length; i += chunk) {
    const piece = thought.slice(i, i + chunk);
    thoughtChars += piece.length;
    steps.push({ t: "event", body: event([{ text: piece.join(""), thought: true }]) });
  }
  const emitted = stream.slice(0, emitChars);
  // Event boundaries every `chunk` characters, plus one at the hold point (which may be at the very end).
  const hold = attempt.holdAfterChars === undefined ? -1 : Math.min(attempt.holdAfterChars, emitted.length);
  let pos = 0;
  while (pos < emitted.length || pos === hold) {
    if (pos === hold) steps.push({ t: "hold" });
    if (pos >= emitted.length) break;
    let next = Math.min(pos + chunk, emitted.length);
    if (hold > pos && hold < next) next = hold;
    const piece = emitted.slice(pos, next);
    answerChars += piece.length;
    steps.push({ t: "event", body: event([{ text: piece.join("") }]) });
    pos = next;
  }
  const callPart = (): Json => ({
    functionCall: scenario.functionCall,
    ...(scenario.thoughtSignature ? { thoughtSignature: scenario.thoughtSignature } : {}),
  });
  if (attempt.functionCall && scenario.functionCall && kind !== "complete") {
    steps.push({ t: "event", body: event([callPart()]) });
  }
  const answerText = emitted.join("");
  const thoughtText = thought.join("");
  const done = (end: AttemptPlan["end"]): AttemptPlan => ({ steps, end, answerText, thoughtText });

  switch (kind) {
    case "complete": {
      const parts: Json[] = scenario.functionCall ? [callPart()] : [{ text: "" }];
      steps.push({ t: "event", body: event(parts, { finishReason: "STOP" }) });
      return done("close");
    }
    case "empty-stop":
    case "thought-only-stop":
      steps.push({ t: "event", body: event([{ text: "" }], { finishReason: "STOP" }) });
      return done("close");
    case "finish":
    case "safety":
    case "max-tokens": {
      const reason =
        kind === "safety"
          ? "SAFETY"
          : kind === "max-tokens"
            ? "MAX_TOKENS"
            : (attempt.finishReason ?? "OTHER");
      const extra: Json = { finishReason: reason };
      if (reason === "SAFETY") {
        extra.safetyRatings = [
          { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
        ];
      }
      steps.push({ t: "event", body: event([{ text: "" }], extra) });
      return done("close");
    }
    case "error-event":
      steps.push({
        t: "error",
        error: googleError(
          attempt.status ?? 503,
          attempt.message ?? "The model is overloaded. Please try again later.",
        ),
        format: attempt.errorFormat ?? "data",
      });
      return done("close");
    case "cut-in-event":
    case "cut-in-char": {
      // The event that would have come next: more answer text, or (nothing left) the final STOP event.
      const next = stream.slice(emitChars, emitChars + chunk);
      const nextBody = thoughtCut
        ? event([
            {
              text: codePoints(thoughtSource)
                .slice(thought.length, thought.length + chunk)
                .join(""),
              thought: true,
            },
          ])
        : next.length > 0
          ? event([{ text: next.join("") }])
          : event([{ text: "" }], { finishReason: "STOP" });
      steps.push({ t: "partial", body: nextBody, cut: kind === "cut-in-char" ? "mid-char" : "half" });
      return done("close");
    }
    case "stall":
      return done("stall");
    case "reset":
      return done("reset");
    default:
      return done("close");
  }
}

function httpErrorPlan(attempt: AttemptSpec): AttemptPlan {
  const status = attempt.status ?? 503;
  const err: Json = { ...googleError(status, attempt.message ?? `mock upstream error ${status}`) };
  const headers: Record<string, string> = {};
  if (attempt.retryDelaySec !== undefined) {
    err.details = [
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${attempt.retryDelaySec}s` },
    ];
  }
  if (attempt.retryAfterSec !== undefined) headers["retry-after"] = String(attempt.retryAfterSec);
  return {
    httpError: { status, body: { error: err }, headers },
    steps: [],
    end: "close",
    answerText: "",
    thoughtText: "",
  };
}

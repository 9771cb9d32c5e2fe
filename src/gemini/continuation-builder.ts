/**
 * Builds the request for the next attempt after a truncated Gemini generation.
 *
 * A continuation is the client's ORIGINAL request plus:
 * - one model turn holding exactly the answer text the client has received so far. Never thought text: thoughts
 *   were the model's scratchpad, and feeding them back as answer text makes the model treat them as said (and
 *   leaks them into the answer). No `thoughtSignature` is attached: signatures let the API restore the model's
 *   reasoning context for function-calling turns; this synthetic turn is plain text the model is asked to extend,
 *   and a signature from one attempt's stream is not valid for a turn the gateway composed.
 * - one user turn with the continuation prompt in the conversation's language, quoting the tail to continue from.
 *
 * Turn order (Gemini requires user/model alternation, the conversation ending in a user turn):
 * - ends in a user turn (text or `functionResponse`, role `user`, `function` or missing): append model, user;
 * - ends in a model turn (a prefill the client wrote): the answer continues that turn, so the answer text is
 *   appended to it as one more part (two model turns in a row are invalid), then the user turn.
 *
 * `maxOutputTokens`, when the client set it, is reduced by what was already produced, but never below
 * `MIN_CONTINUATION_OUTPUT_TOKENS` (a tiny budget would just produce another truncation) nor above the original.
 * Pure: the original request is never mutated.
 */
import { quotedAnswerTail, reducedTokenLimit } from "../stream/continue-prompt";
import { detectLanguageOrNull } from "../stream/language";
import { renderRetryPrompt } from "../stream/prompts";
import type { Content, GenerateContentRequest, PromptLanguage, RetryPrompts } from "./types";

/** Floor for a reduced `maxOutputTokens` (capped by the client's own value); one floor for every format. */
export { MIN_CONTINUATION_OUTPUT_TOKENS } from "../stream/continue-prompt";
/** Code points of the answer's end quoted in the continuation prompt. */
export const TAIL_QUOTE_CHARS = 200;
/** When the quote would start mid-word, it may start up to this many code points later, after whitespace. */
const TAIL_WORD_BOUNDARY_SLACK = 30;

export interface ContinuationOptions {
  prompts: RetryPrompts;
  /** Output tokens already produced by earlier attempts (what counts against `maxOutputTokens`). */
  producedOutputTokens: number;
  /** Force the prompt language instead of detecting it. */
  language?: PromptLanguage;
  /** Code points of the tail to quote (default `TAIL_QUOTE_CHARS`). */
  tailChars?: number;
}

function textOf(c: Content | undefined): string {
  if (!c) return "";
  return c.parts
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text)
    .join("\n");
}

/**
 * The language the conversation is held in: the last user turn with judgeable text, else all user turns,
 * else the system instruction, else the answer itself; English by default.
 */
export function conversationLanguage(original: GenerateContentRequest, answerText = ""): PromptLanguage {
  return languageOf(
    original.contents.map((c) => c.role),
    (i) => original.contents[i] as Content,
    () => original.systemInstruction,
    answerText,
  );
}

/**
 * `conversationLanguage` over a request that is read on demand (`continuation-bytes.ts` parses one content at a
 * time): `roles` are the contents' roles in order, `contentAt(i)` yields content `i`.
 */
export function languageOf(
  roles: readonly (string | undefined)[],
  contentAt: (i: number) => Content,
  systemInstruction: () => Content | undefined,
  answerText: string,
): PromptLanguage {
  for (let i = roles.length - 1; i >= 0; i--) {
    if (roles[i] === "model") continue;
    const lang = detectLanguageOrNull(textOf(contentAt(i)));
    if (lang !== null) return lang;
  }
  return detectLanguageOrNull(textOf(systemInstruction())) ?? detectLanguageOrNull(answerText) ?? "en";
}

/** The last `chars` code points of `answer`, starting after whitespace when that avoids a cut word. */
export function quotedTail(answer: string, chars = TAIL_QUOTE_CHARS): string {
  return quotedAnswerTail(answer, chars, TAIL_WORD_BOUNDARY_SLACK);
}

/** The `maxOutputTokens` for the next attempt (`undefined` when the client did not set one). */
export function reducedMaxOutputTokens(original: number | undefined, produced: number): number | undefined {
  return reducedTokenLimit(original, produced) as number | undefined;
}

function withBudget(req: GenerateContentRequest, produced: number | undefined): GenerateContentRequest {
  const max = req.generationConfig?.maxOutputTokens;
  if (produced === undefined || max === undefined || req.generationConfig === undefined) return req;
  req.generationConfig.maxOutputTokens = reducedMaxOutputTokens(max, produced);
  return req;
}

/** The model turn and the user turn a continuation appends, and the prompt's language (shared with the byte builder). */
export function continuationTurns(
  answerText: string,
  language: PromptLanguage,
  opts: ContinuationOptions,
): { answerPart: { text: string }; userTurn: Content } {
  const prompt = renderRetryPrompt(opts.prompts[language], quotedTail(answerText, opts.tailChars));
  return { answerPart: { text: answerText }, userTurn: { role: "user", parts: [{ text: prompt }] } };
}

/** The request that continues `answerText` (what the client received) after a truncated attempt. */
export function buildContinuationRequest(
  original: GenerateContentRequest,
  answerText: string,
  opts: ContinuationOptions,
): GenerateContentRequest {
  if (answerText === "")
    return buildRestartRequest(original, { producedOutputTokens: opts.producedOutputTokens });
  const req = structuredClone(original);
  const contents = req.contents;
  const last = contents[contents.length - 1];
  if (last !== undefined && last.role === "model") {
    last.parts = [...last.parts, { text: answerText }];
  } else {
    contents.push({ role: "model", parts: [{ text: answerText }] });
  }
  const language = opts.language ?? conversationLanguage(original, answerText);
  contents.push(continuationTurns(answerText, language, opts).userTurn);
  return withBudget(req, opts.producedOutputTokens);
}

/**
 * The request for a fresh start when an attempt produced nothing the client saw (only thoughts, or nothing):
 * the original request, with `maxOutputTokens` reduced when `producedOutputTokens` is given.
 */
export function buildRestartRequest(
  original: GenerateContentRequest,
  opts: { producedOutputTokens?: number },
): GenerateContentRequest {
  return withBudget(structuredClone(original), opts.producedOutputTokens);
}

/**
 * The continue prompt of the prompt method (for providers without assistant-prefix continuation): the partial answer
 * goes back as an assistant turn, followed by a user turn asking to continue exactly where it stopped and quoting the
 * answer's last characters. The prompts and the language choice are the Gemini engine's (`GEMINI_RETRY_PROMPT_*`
 * override them for every format): the language of the latest user message that has one, else of the answer.
 */
import { detectLanguageOrNull } from "./language";
import type { RetryPrompts } from "./prompts";
import { renderRetryPrompt } from "./prompts";

/** Code points of the answer's end quoted in the prompt. */
export const CONTINUE_TAIL_CHARS = 200;
/** A quoted tail starts after a space found within this many code points, so it does not start mid-word. */
const TAIL_WORD_SLACK_CHARS = 20;

export function quotedAnswerTail(
  answer: string,
  chars = CONTINUE_TAIL_CHARS,
  wordSlackChars = TAIL_WORD_SLACK_CHARS,
): string {
  const cps = Array.from(answer);
  if (cps.length <= chars) return answer;
  let start = cps.length - chars;
  for (let i = start; i < Math.min(cps.length - 1, start + wordSlackChars); i++) {
    if (/\s/u.test(cps[i] ?? "")) {
      start = i + 1;
      break;
    }
  }
  return cps.slice(start).join("");
}

/** The user turn's text; `userTexts` are the conversation's user messages, oldest first. */
export function continuePrompt(prompts: RetryPrompts, userTexts: readonly string[], answer: string): string {
  let language = null;
  for (let i = userTexts.length - 1; i >= 0 && language === null; i--) {
    language = detectLanguageOrNull(userTexts[i] ?? "");
  }
  language ??= detectLanguageOrNull(answer) ?? "en";
  return renderRetryPrompt(prompts[language], quotedAnswerTail(answer));
}

/** The client's token limit for the next attempt: what is left after the output so far, never below a floor. */
export const MIN_CONTINUATION_OUTPUT_TOKENS = 256;

export function reducedTokenLimit(original: unknown, produced: number): unknown {
  if (typeof original !== "number" || !Number.isFinite(original)) return original;
  const floor = Math.min(original, MIN_CONTINUATION_OUTPUT_TOKENS);
  return Math.max(original - Math.max(0, Math.floor(produced)), floor);
}

/** The text of a message's `content` (a string, or a list of text parts/blocks). */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) =>
      typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string"
        ? (part as { text: string }).text
        : "",
    )
    .join("");
}

/**
 * Continuation prompts, one per language (`GEMINI_RETRY_PROMPT_CN/EN/JA/KO` override them).
 *
 * A template may contain the placeholder `{{tail}}` (`TAIL_PLACEHOLDER`): it is replaced by the last characters
 * of the answer the client has already received, so the model knows the exact point to continue from. A
 * template without the placeholder gets the tail appended as a quoted block after a blank line. The tail is
 * inserted literally (no `$` substitution patterns, no escaping).
 */
/** The languages a continuation prompt exists in. */
export type PromptLanguage = "cn" | "en" | "ja" | "ko";
export type RetryPrompts = Record<PromptLanguage, string>;

export const TAIL_PLACEHOLDER = "{{tail}}";
export const PROMPT_LANGUAGES: readonly PromptLanguage[] = ["cn", "en", "ja", "ko"];

export const DEFAULT_RETRY_PROMPTS: RetryPrompts = {
  en:
    "Your previous reply was interrupted before it was finished. Continue it from exactly the point where it " +
    "stopped. Do not repeat anything already written, do not start over, and do not add any introduction or " +
    "remark: output only the remaining text, beginning with the very next character. If it stopped inside a " +
    "code block, list or table, carry on inside it without opening it again. Your reply so far ends " +
    'with:\n"""\n{{tail}}\n"""',
  cn:
    "你上一条回复在完成之前被中断了。请从中断的确切位置直接接着写：不要重复已经写出的内容，不要从头开始，" +
    "也不要添加任何开场白或说明，只输出剩下的部分，从紧接着的下一个字开始。如果中断处位于代码块、列表或表格之中，" +
    '请在其中直接继续，不要重新开启。你已写出的内容结尾是：\n"""\n{{tail}}\n"""',
  ja:
    "前回の回答は完了する前に途切れました。途切れた箇所からそのまま続きを書いてください。すでに書いた内容を" +
    "繰り返したり、最初からやり直したり、前置きや説明を加えたりせず、直後の文字から残りの部分だけを出力して" +
    "ください。コードブロック、リスト、表の途中で途切れた場合は、開き直さずにその中でそのまま続けてください。" +
    'これまでの回答の末尾は次のとおりです：\n"""\n{{tail}}\n"""',
  ko:
    "이전 답변이 끝나기 전에 중단되었습니다. 중단된 바로 그 지점에서 그대로 이어서 작성해 주세요. 이미 쓴 " +
    "내용을 반복하거나 처음부터 다시 시작하거나 서두나 설명을 덧붙이지 말고, 바로 다음 글자부터 나머지 " +
    "부분만 출력하세요. 코드 블록, 목록, 표 안에서 중단되었다면 다시 열지 말고 그 안에서 그대로 이어 가세요. " +
    '지금까지의 답변은 다음으로 끝납니다:\n"""\n{{tail}}\n"""',
};

/**
 * The prompts in effect: each non-empty override replaces the default for its language. An empty or
 * whitespace-only value counts as unset (an empty Worker variable should not produce an empty prompt).
 */
export function resolveRetryPrompts(overrides: Partial<RetryPrompts>): RetryPrompts {
  const out: RetryPrompts = { ...DEFAULT_RETRY_PROMPTS };
  for (const lang of PROMPT_LANGUAGES) {
    const v = overrides[lang];
    if (typeof v === "string" && v.trim() !== "") out[lang] = v;
  }
  return out;
}

/** The prompt text with the tail filled in (see the module comment). */
export function renderRetryPrompt(template: string, tail: string): string {
  if (template.includes(TAIL_PLACEHOLDER)) return template.split(TAIL_PLACEHOLDER).join(tail);
  return `${template}\n\n"""\n${tail}\n"""`;
}

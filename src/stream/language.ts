/**
 * Picks the language of the continuation prompt from the user's text, so a model asked to continue a Chinese
 * answer is asked in Chinese (a prompt in another language nudges models into switching language mid-answer).
 *
 * Heuristic, by script counts over the text with code removed:
 * - Japanese when kana (hiragana/katakana) is present: Japanese prose always mixes kana into kanji, so even a
 *   kanji-heavy Japanese text is Japanese. A lone kana character in a long Han text (Chinese quoting one
 *   Japanese particle, e.g. "の") does not count.
 * - Korean when Hangul is present and outnumbers Han characters (Korean text may carry some Hanja).
 * - Chinese when Han characters are present (and no kana / not Korean).
 * - The CJK candidate wins over English when its characters, each weighted as `CJK_CHAR_WEIGHT` Latin letters
 *   (one CJK character carries about a short word), outweigh the Latin letters; otherwise English.
 * - Text without letters of any of these scripts: `null` from `detectLanguageOrNull`, English from `detectLanguage`.
 */
import type { PromptLanguage } from "./prompts";

/** One CJK/Hangul character counts as this many Latin letters when comparing scripts (a CJK word is ~1.5
 * characters, an English word ~5 letters; CJK writers also embed English technical terms, hence generous). */
export const CJK_CHAR_WEIGHT = 4;
/** Only the last this many UTF-16 units are examined (the recent text is what matters; bounds the work). */
export const MAX_SCAN_CHARS = 20_000;
/** A single kana character among at least this many Han characters is treated as a quotation, not Japanese. */
const STRAY_KANA_HAN_COUNT = 50;

const FENCED_CODE = /```[\s\S]*?(?:```|$)/g;
const INLINE_CODE = /`[^`\n]*`/g;
const URL = /\bhttps?:\/\/\S+/g;

interface ScriptCounts {
  han: number;
  kana: number;
  hangul: number;
  latin: number;
}

function countScripts(text: string): ScriptCounts {
  const counts: ScriptCounts = { han: 0, kana: 0, hangul: 0, latin: 0 };
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) {
      if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) counts.latin++;
    } else if (
      (cp >= 0x3040 && cp <= 0x30ff && cp !== 0x30fb && cp !== 0x30fc) ||
      (cp >= 0x31f0 && cp <= 0x31ff)
    ) {
      // Hiragana + Katakana (without the middle dot and the prolonged sound mark, which Chinese text also uses)
      counts.kana++;
    } else if (cp >= 0xff66 && cp <= 0xff9d) {
      counts.kana++; // half-width katakana
    } else if (
      (cp >= 0xac00 && cp <= 0xd7af) ||
      (cp >= 0x1100 && cp <= 0x11ff) ||
      (cp >= 0x3130 && cp <= 0x318f)
    ) {
      counts.hangul++;
    } else if (
      (cp >= 0x4e00 && cp <= 0x9fff) ||
      (cp >= 0x3400 && cp <= 0x4dbf) ||
      (cp >= 0x20000 && cp <= 0x2ebef) ||
      (cp >= 0xf900 && cp <= 0xfaff)
    ) {
      counts.han++;
    } else if ((cp >= 0xc0 && cp <= 0x24f) || (cp >= 0x1e00 && cp <= 0x1eff)) {
      counts.latin++; // accented Latin letters
    }
  }
  return counts;
}

/** The prompt language of `text`, or `null` when it has no letters of a script we can judge. */
export function detectLanguageOrNull(text: string): PromptLanguage | null {
  const sample = text.length > MAX_SCAN_CHARS ? text.slice(text.length - MAX_SCAN_CHARS) : text;
  const c = countScripts(sample.replace(FENCED_CODE, " ").replace(INLINE_CODE, " ").replace(URL, " "));
  let cjk: PromptLanguage | null = null;
  let cjkChars = 0;
  const strayKana = c.kana === 1 && c.han >= STRAY_KANA_HAN_COUNT;
  if (c.kana > 0 && !strayKana) {
    cjk = "ja";
    cjkChars = c.kana + c.han;
  } else if (c.hangul > 0 && c.hangul >= c.han) {
    cjk = "ko";
    cjkChars = c.hangul + c.han;
  } else if (c.han > 0) {
    cjk = "cn";
    cjkChars = c.han + c.kana;
  }
  if (cjk !== null && cjkChars * CJK_CHAR_WEIGHT > c.latin) return cjk;
  if (c.latin > 0) return "en";
  return cjk;
}

/** The prompt language of `text`; English when undecidable. */
export function detectLanguage(text: string): PromptLanguage {
  return detectLanguageOrNull(text) ?? "en";
}

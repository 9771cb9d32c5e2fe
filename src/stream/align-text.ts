/**
 * Text helpers of the continuation aligner (`aligner.ts`): code-point classification and weights, whitespace
 * normalization with a map back to raw positions, and the reopened-code-fence rule.
 */

/** A CJK/kana/Hangul/full-width code point weighs this much; any other 1 (thresholds mean similar text amounts). */
export const WIDE_CHAR_WEIGHT = 3;

// ASCII fast paths: these run once per character of the sent answer, which may be long.
export const isSpace = (c: string): boolean => {
  const code = c.charCodeAt(0);
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return /\s/u.test(c);
};
export const isWide = (c: string): boolean =>
  c.charCodeAt(0) >= 0x1100 &&
  /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[\u{20000}-\u{3134f}]/u.test(c);
export const weight = (cps: readonly string[]): number =>
  cps.reduce((w, c) => w + (isWide(c) ? WIDE_CHAR_WEIGHT : 1), 0);
/** Letters of scripts that separate words with spaces (Latin, Greek, Cyrillic, Hangul …), not CJK/kana. */
export const isSpacedLetter = (c: string): boolean =>
  /[\p{L}\p{M}'’]/u.test(c) && !/[\u2e80-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}]/u.test(c);

export const FENCE_LINE = /^[ \t]*```/gm;
/** Longest fence-opening line ("```typescript") looked for. */
const MAX_FENCE_LINE_CHARS = 40;

/**
 * Code points of a code-fence opening line ("```python\n") that starts `cps`, 0 when there is none, "pending" while
 * undecided. Used when the answer was cut inside a code block: models often reopen the block in the
 * continuation, which would close it for the client and show the rest as prose.
 */
export function reopenedFence(cps: readonly string[], final: boolean): number | "pending" {
  const head = cps.slice(0, MAX_FENCE_LINE_CHARS).join("");
  // An info string is required: a bare ``` line in an open block is the block's legitimate closing fence.
  const m = /^\s*```[\w+#.-]+[ \t]*(?:\r?\n|$)/.exec(head);
  if (m && (m[0].endsWith("\n") || final)) return Array.from(m[0]).length;
  const open = /^\s*`{0,3}[\w+#.-]*[ \t]*$/.test(head) && head.trimStart().startsWith("`") && !final;
  return open || (!final && head.trim() === "" && cps.length < MAX_FENCE_LINE_CHARS) ? "pending" : 0;
}

export interface Normalized {
  /** Code points with whitespace runs collapsed to " ". */
  n: string[];
  /** `map[i]`: index in the raw code points of the first raw character behind `n[i]`. */
  map: number[];
  rawLength: number;
}

export function normalize(raw: readonly string[]): Normalized {
  const n: string[] = [];
  const map: number[] = [];
  raw.forEach((c, i) => {
    if (isSpace(c)) {
      if (n[n.length - 1] === " ") return;
      n.push(" ");
    } else n.push(c);
    map.push(i);
  });
  return { n, map, rawLength: raw.length };
}

/** Raw code points covered by the first `len` normalized ones (a trailing whitespace run counts whole). */
export const rawEnd = (x: Normalized, len: number): number =>
  len >= x.n.length ? x.rawLength : (x.map[len] ?? x.rawLength);

/** Distinct non-space characters an overlap needs: "----- | -----" in a table repeats by nature, not by error. */
export const MIN_OVERLAP_DISTINCT_CHARS = 3;

/** Whether the suffix of `s` from `j` has enough different characters to be a meaningful overlap. */
export function informative(s: readonly string[], j: number): boolean {
  const seen = new Set<string>();
  for (let i = j; i < s.length && seen.size < MIN_OVERLAP_DISTINCT_CHARS; i++)
    if (s[i] !== " ") seen.add(s[i] ?? "");
  return seen.size >= MIN_OVERLAP_DISTINCT_CHARS;
}

export function commonPrefix(a: readonly string[], b: readonly string[], aFrom = 0, bFrom = 0): number {
  let i = 0;
  while (aFrom + i < a.length && bFrom + i < b.length && a[aFrom + i] === b[bFrom + i]) i++;
  return i;
}

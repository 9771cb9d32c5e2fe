/**
 * Aligns the start of a continuation's answer text with what the client already received, so the client sees
 * one seamless answer. It buffers the continuation's first characters until it can decide, then passes text
 * straight through.
 *
 * Heuristics, in order (all comparisons on code points, with every whitespace run collapsed to one space so
 * "foo\n\nbar" matches "foo bar"):
 * 1. Preamble: "Sure, here's the continuation:", "好的，继续：" … is dropped (`preamble.ts` has the patterns) with
 *    the line break and blank lines after it (the first real line keeps its indentation).
 *    Likewise, when the sent answer ends inside a fenced code block, a fence line reopening it ("```python") is
 *    dropped (it would close the block for the client).
 * 2. Identical replay: the continuation restarts the answer from its start (leading whitespace ignored). Once
 *    `REPLAY_CONFIRM_WEIGHT` of it matched the sent answer's start (or all of a short answer), it is a replay:
 *    the replayed part is dropped as it arrives and whatever follows the end of the sent answer is emitted. A
 *    replay that diverges before reaching the end is a rewrite.
 * 3. Overlap: the continuation repeats the end of the sent answer (typically the tail quoted in the prompt).
 *    The longest suffix of the sent answer (within `OVERLAP_WINDOW_CHARS`) that the continuation starts with is
 *    dropped, if it weighs at least `MIN_OVERLAP_WEIGHT` (shorter matches — "e", " the" — happen by chance) and
 *    has `MIN_OVERLAP_DISTINCT_CHARS` different characters (table rules "---- | ----" repeat by nature).
 *    While the buffered text could still grow into a longer overlap, the aligner waits. When the repeat ends in
 *    the sent answer's trailing whitespace, exactly that much whitespace is dropped (also across chunks): more
 *    is the continuation's own (indentation, a blank line).
 * 4. Rewrite: the continuation shares at least `REWRITE_SHARED_WEIGHT` with the sent answer's start and then
 *    diverges: it restarted with different content instead of continuing (a failed attempt for the engine).
 *    A rewrite sharing nothing with the answer's start cannot be told from a continuation and is passed on.
 *    When the continuation starts on a new line (the sent answer ends with a line break, or the continuation
 *    starts with one), steps 2 and 4 ask for `LINE_START_THRESHOLD_FACTOR` times more
 *    shared text: a new block may legitimately begin like the first one.
 * 5. Restarted word: the sent answer ends inside a word ("Hello wo") and the continuation starts with that whole
 *    word ("world"): the repeated fragment (≥ 2 letters) is dropped. Only for letters of spaced scripts.
 *
 * "Weight" counts a CJK/kana/Hangul/full-width code point as `WIDE_CHAR_WEIGHT` and any other as 1, so the
 * thresholds mean about the same amount of text in every language.
 * Buffering is bounded by `MAX_ALIGN_BUFFER_CHARS`: past it the aligner decides with what it has.
 * `removedChars` counts the code points dropped.
 *
 * `finish()` is for a continuation that ended with STOP: whatever is still buffered is then the end of the
 * answer and is decided on as it stands. A continuation that ended otherwise (cut, MAX_TOKENS, blocked) is not
 * finished but abandoned (see `AttemptCollector.finish`): its undecided text is typically the first part of a
 * repeated tail, which cannot be told from new text until the repeat is complete, so it must not reach the client.
 */
import {
  commonPrefix,
  FENCE_LINE,
  informative,
  isSpace,
  isSpacedLetter,
  type Normalized,
  normalize,
  rawEnd,
  reopenedFence,
  weight,
} from "./align-text";
import { matchPreamble } from "./preamble";

export { MIN_OVERLAP_DISTINCT_CHARS, WIDE_CHAR_WEIGHT } from "./align-text";

export type AlignStep = { kind: "pending" } | { kind: "emit"; text: string } | { kind: "rewrite" };

/** Most code points held back before a decision is forced. */
export const MAX_ALIGN_BUFFER_CHARS = 1024;
/** Only this many trailing code points of the sent answer are searched for an overlap. */
export const OVERLAP_WINDOW_CHARS = 600;
export const MIN_OVERLAP_WEIGHT = 8;
export const REPLAY_CONFIRM_WEIGHT = 24;
export const REWRITE_SHARED_WEIGHT = 16;
/**
 * When the continuation starts on a new line, it may legitimately open a block much like the
 * answer's first one (a second code block with the same imports, a second list): the replay and rewrite
 * thresholds are multiplied by this factor there.
 */
export const LINE_START_THRESHOLD_FACTOR = 3;
/** A complete replay of an answer lighter than this ("I", "OK") is taken for chance, not a replay. */
export const MIN_REPLAY_WEIGHT = 4;
/** Longest first word examined by the restarted-word rule. */
const MAX_WORD_CHARS = 40;

export interface AlignerOptions {
  maxBufferChars?: number;
  overlapWindowChars?: number;
  minOverlapWeight?: number;
  replayConfirmWeight?: number;
  rewriteSharedWeight?: number;
}

export class ContinuationAligner {
  readonly #sent: Normalized;
  /** The sent answer, normalized, leading whitespace removed (for replay detection). */
  readonly #sentStart: string[];
  readonly #sentRaw: string[];
  /** The sent answer ends inside a fenced code block (an odd number of ``` fence lines). */
  readonly #insideCodeBlock: boolean;
  /** `#suffixWeight[j]`: weight of the normalized sent answer from index j to its end. */
  readonly #suffixWeight: number[];
  readonly #opts: Required<AlignerOptions>;
  /** The sent answer ends with a line break (plus maybe indentation). */
  readonly #sentEndsLine: boolean;
  #buffer: string[] = [];
  #state: "deciding" | "replay" | "through" | "rewrite" = "deciding";
  #replayPos = 0;
  #replayLastSpace = false;
  #removed = 0;
  /**
   * Whitespace characters still to drop from the next text: the dropped repeat ended in the sent answer's
   * trailing whitespace run, and the continuation's copy of that run may go on in the next chunk.
   */
  #swallowLeft = 0;
  /** Raw whitespace characters at the end of the sent answer. */
  readonly #sentTrailingSpace: number;

  constructor(sentAnswer: string, opts: AlignerOptions = {}) {
    this.#opts = {
      maxBufferChars: opts.maxBufferChars ?? MAX_ALIGN_BUFFER_CHARS,
      overlapWindowChars: opts.overlapWindowChars ?? OVERLAP_WINDOW_CHARS,
      minOverlapWeight: opts.minOverlapWeight ?? MIN_OVERLAP_WEIGHT,
      replayConfirmWeight: opts.replayConfirmWeight ?? REPLAY_CONFIRM_WEIGHT,
      rewriteSharedWeight: opts.rewriteSharedWeight ?? REWRITE_SHARED_WEIGHT,
    };
    this.#sentRaw = Array.from(sentAnswer);
    this.#sent = normalize(this.#sentRaw);
    const lead = this.#sent.n[0] === " " ? 1 : 0;
    this.#sentStart = this.#sent.n.slice(lead);
    let trailing = 0;
    while (
      trailing < this.#sentRaw.length &&
      isSpace(this.#sentRaw[this.#sentRaw.length - 1 - trailing] ?? "")
    )
      trailing++;
    this.#sentTrailingSpace = trailing;
    this.#sentEndsLine = /[\r\n][ \t]*$/.test(sentAnswer);
    this.#insideCodeBlock = (sentAnswer.match(FENCE_LINE) ?? []).length % 2 === 1;
    this.#suffixWeight = new Array<number>(this.#sent.n.length + 1).fill(0);
    const windowStart = Math.max(0, this.#sent.n.length - this.#opts.overlapWindowChars);
    for (let j = this.#sent.n.length - 1; j >= windowStart; j--) {
      this.#suffixWeight[j] = (this.#suffixWeight[j + 1] ?? 0) + weight([this.#sent.n[j] ?? ""]);
    }
  }

  /** Code points dropped so far (preamble, overlap, replay, restarted word). */
  get removedChars(): number {
    return this.#removed;
  }

  push(text: string): AlignStep {
    switch (this.#state) {
      case "through":
        return { kind: "emit", text: this.#swallow(text) };
      case "rewrite":
        return { kind: "rewrite" };
      case "replay":
        return this.#replay(Array.from(text));
      default:
        this.#buffer.push(...Array.from(text));
        return this.#decide(this.#buffer.length >= this.#opts.maxBufferChars);
    }
  }

  /** The continuation ended with STOP: decide with what was buffered (not for a cut one). */
  finish(): AlignStep {
    switch (this.#state) {
      case "through":
        return { kind: "emit", text: "" };
      case "rewrite":
        return { kind: "rewrite" };
      case "replay":
        this.#state = "through"; // the replay stopped short: nothing new to add
        return { kind: "emit", text: "" };
      default:
        return this.#decide(true);
    }
  }

  #emit(cps: readonly string[], swallow = 0): AlignStep {
    this.#state = "through";
    this.#buffer = [];
    this.#swallowLeft = swallow;
    return { kind: "emit", text: this.#swallow(cps.join("")) };
  }

  #swallow(text: string): string {
    if (this.#swallowLeft === 0) return text;
    const cps = Array.from(text);
    let i = 0;
    while (i < cps.length && i < this.#swallowLeft && isSpace(cps[i] ?? "")) i++;
    this.#removed += i;
    this.#swallowLeft = i < cps.length ? 0 : this.#swallowLeft - i;
    return cps.slice(i).join("");
  }

  /**
   * Drops the first `normLen` normalized code points of `rest` (a repeat that reaches the end of the sent answer)
   * and emits the remainder. Inside the repeat whitespace is compared loosely, but its final whitespace run is
   * cut exactly as long as the sent answer's own trailing run: whitespace beyond it is the continuation's own
   * (indentation, a blank line) and is kept.
   */
  #dropRepeat(rest: string[], r: Normalized, normLen: number): AlignStep {
    if (r.n[normLen - 1] !== " ") {
      const cut = rawEnd(r, normLen);
      this.#removed += cut;
      return this.#emit(rest.slice(cut));
    }
    const runStart = r.map[normLen - 1] ?? rest.length;
    let runLen = 0;
    while (runStart + runLen < rest.length && isSpace(rest[runStart + runLen] ?? "")) runLen++;
    const take = Math.min(runLen, this.#sentTrailingSpace);
    this.#removed += runStart + take;
    const swallow = runStart + runLen === rest.length ? this.#sentTrailingSpace - take : 0;
    return this.#emit(rest.slice(runStart + take), swallow);
  }

  #decide(final: boolean): AlignStep {
    const text = this.#buffer.join("");
    const pre = matchPreamble(text, final);
    if (pre.kind === "pending") return { kind: "pending" };
    let drop = 0;
    if (pre.kind === "strip") {
      const strippedCps = Array.from(text.slice(0, pre.length)).length;
      const after = this.#buffer.slice(strippedCps);
      const afterText = after.join("");
      if (afterText.trim() === "") {
        if (!final) return { kind: "pending" }; // wait for the first real character
        drop = this.#buffer.length;
      } else {
        // Blank lines after the preamble go with it; the first real line's indentation stays (see preamble.ts).
        const blank = /^(?:[ \t]*(?:\r\n|\n|\r))*/.exec(afterText)?.[0] ?? "";
        drop = strippedCps + Array.from(blank).length;
      }
    }
    if (this.#insideCodeBlock) {
      const fence = reopenedFence(this.#buffer.slice(drop), final);
      if (fence === "pending") return { kind: "pending" };
      if (fence > 0) {
        // A fence line that is the start of a repeated tail ("```python\ndef" repeated) is part of the overlap.
        const withFence = this.#buffer.slice(drop);
        const r = normalize(withFence);
        const overlap = this.#findOverlap(r, final);
        if (overlap === "pending") return { kind: "pending" };
        if (overlap > 0) {
          this.#removed += drop;
          return this.#dropRepeat(withFence, r, overlap);
        }
      }
      drop += fence;
    }
    const rest = this.#buffer.slice(drop);
    if (rest.length === 0 && final) {
      this.#removed += drop;
      return this.#emit([]);
    }
    const step = this.#analyse(rest, final);
    // A pending analysis keeps the whole buffer (preamble included) for the next decision, unless it switched
    // to replay mode and consumed it.
    if (step.kind !== "pending" || this.#state !== "deciding") this.#removed += drop;
    return step;
  }

  /** Steps 2–5 of the module comment on the text after any preamble. */
  #analyse(rest: string[], final: boolean): AlignStep {
    const r = normalize(rest);
    const lead = r.n[0] === " " ? 1 : 0;
    const nr = r.n.slice(lead);
    const sent = this.#sentStart;
    const atLineStart = this.#sentEndsLine || /^[ \t]*[\r\n]/.test(rest.slice(0, MAX_WORD_CHARS).join(""));
    const factor = atLineStart ? LINE_START_THRESHOLD_FACTOR : 1;

    // 2. Identical replay from the start.
    const shared = commonPrefix(nr, sent);
    if (shared >= sent.length && weight(sent) >= MIN_REPLAY_WEIGHT)
      return this.#dropRepeat(rest, r, lead + shared);
    if (nr.length > 0 && sent.length > 0 && shared === nr.length) {
      if (weight(nr) >= this.#opts.replayConfirmWeight * factor) {
        this.#removed += rest.length;
        this.#buffer = [];
        this.#state = "replay";
        this.#replayPos = shared;
        this.#replayLastSpace = nr[nr.length - 1] === " ";
        return { kind: "pending" };
      }
      if (!final) return { kind: "pending" };
      // The stream ended inside a replay of the answer's start: nothing new, drop it.
      if (weight(nr) >= this.#opts.minOverlapWeight) {
        this.#removed += rest.length;
        return this.#emit([]);
      }
    }

    // 3. Overlap with the end of the sent answer.
    const best = this.#findOverlap(r, final);
    if (best === "pending") return { kind: "pending" };
    if (best > 0) return this.#dropRepeat(rest, r, best);

    // 4. Restarted with different content.
    if (
      shared > 0 &&
      shared < nr.length &&
      weight(nr.slice(0, shared)) >= this.#opts.rewriteSharedWeight * factor
    ) {
      this.#state = "rewrite";
      this.#buffer = [];
      return { kind: "rewrite" };
    }

    // 5. Restarted word.
    const fragment = this.#trailingWord();
    if (fragment.length >= 2 && rest.length > 0 && isSpacedLetter(rest[0] ?? "")) {
      const wordEnd = rest.findIndex((c) => !isSpacedLetter(c));
      if (wordEnd < 0 && !final && rest.length < MAX_WORD_CHARS) return { kind: "pending" };
      const word = rest.slice(0, wordEnd < 0 ? rest.length : wordEnd);
      if (word.length > fragment.length && commonPrefix(word, fragment) === fragment.length) {
        this.#removed += fragment.length;
        return this.#emit(rest.slice(fragment.length));
      }
    }
    return this.#emit(rest);
  }

  /**
   * Normalized length of the longest suffix of the sent answer that `r` starts with (0: none), or "pending"
   * while `r` could still grow into a longer one.
   */
  #findOverlap(r: Normalized, final: boolean): number | "pending" {
    const s = this.#sent.n;
    const window = Math.max(0, s.length - this.#opts.overlapWindowChars);
    let waitLonger = false;
    for (let j = window; j < s.length; j++) {
      if ((this.#suffixWeight[j] ?? 0) < this.#opts.minOverlapWeight) break; // shorter suffixes weigh less
      if (!informative(s, j)) break; // shorter suffixes have no more variety
      const c = commonPrefix(s, r.n, j, 0);
      if (c === s.length - j) return waitLonger && !final ? "pending" : c; // the longest complete match
      if (c === r.n.length) waitLonger = true;
    }
    return waitLonger && !final ? "pending" : 0;
  }

  /** The sent answer ends inside a word of a spaced script: that word's letters so far. */
  #trailingWord(): string[] {
    const out: string[] = [];
    for (let i = this.#sentRaw.length - 1; i >= 0 && out.length < MAX_WORD_CHARS; i--) {
      const c = this.#sentRaw[i] ?? "";
      if (!isSpacedLetter(c)) break;
      out.unshift(c);
    }
    return out;
  }

  /** Replay mode: drop text while it matches the sent answer; emit what follows its end. */
  #replay(cps: string[]): AlignStep {
    const sent = this.#sentStart;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i] ?? "";
      const n = isSpace(c) ? " " : c;
      if (n === " " && this.#replayLastSpace) {
        this.#removed++;
        continue;
      }
      if (sent[this.#replayPos] !== n) {
        this.#state = "rewrite";
        return { kind: "rewrite" };
      }
      this.#replayPos++;
      this.#replayLastSpace = n === " ";
      this.#removed++;
      if (this.#replayPos >= sent.length)
        return this.#emit(cps.slice(i + 1), n === " " ? this.#sentTrailingSpace - 1 : 0);
    }
    return { kind: "pending" };
  }
}

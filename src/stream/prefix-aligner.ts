/**
 * The aligner for an assistant-prefix continuation: the model continues the prefix itself, so its text follows
 * the client's answer directly and needs no preamble, overlap or replay heuristics. Only whitespace needs care:
 * a prefix is sent without its trailing whitespace (Anthropic refuses a final assistant message that ends with
 * whitespace), so the continuation typically starts with that whitespace again; up to as much as was taken off is
 * dropped, since the client has it already.
 */
import type { AlignStep, RepairAligner } from "./repair-engine";

export class PrefixAligner implements RepairAligner {
  /** Whitespace characters still to drop from the continuation's start. */
  #swallow: number;
  #removed = 0;

  /** `trimmed`: the prefix was sent without the answer's trailing whitespace (`prefixText`). */
  constructor(sentAnswer: string, trimmed: boolean) {
    this.#swallow = trimmed ? sentAnswer.length - sentAnswer.trimEnd().length : 0;
  }

  get removedChars(): number {
    return this.#removed;
  }

  push(text: string): AlignStep {
    let i = 0;
    while (this.#swallow > 0 && i < text.length && /\s/.test(text[i] as string)) {
      i++;
      this.#swallow--;
    }
    // The first non-space character ends the dropping for good.
    if (i < text.length) this.#swallow = 0;
    this.#removed += i;
    return { kind: "emit", text: text.slice(i) };
  }

  finish(): AlignStep {
    return { kind: "emit", text: "" };
  }
}

/** The prefix a continuation sends: the answer without trailing whitespace (see above). */
export function prefixText(answer: string): string {
  return answer.trimEnd();
}

import type { Aligner } from "./engine-types";
import { type AttemptObservation, isTerminalFinishReason } from "./outcome";
import type { Candidate, GenerateContentResponse, Part, UsageMetadata } from "./types";

/**
 * Sorts one attempt's chunks into what the client sees now, what waits for the attempt's end, and what the outcome
 * classifier needs:
 * - thought parts: shown unless the answer has already started (`showThoughts` false for continuations);
 * - answer text: through the aligner on continuations (preamble/overlap/replay dropped, rewrite detected; text
 *   still undecided when the attempt ends is released only on STOP, see `finish`);
 * - function calls: held until the attempt finishes (a call from a cut attempt is never emitted);
 * - the chunk carrying a terminal finishReason: its parts are held for the one final chunk.
 */
export class AttemptCollector {
  readonly obs: AttemptObservation = {
    finishReason: null,
    blockReason: null,
    streamError: null,
    end: "eof",
    answerChars: 0,
    thoughtChars: 0,
    functionCalls: 0,
  };
  usage: UsageMetadata | undefined;
  /** The chunk that ended the generation (terminal finishReason or prompt block), if any. */
  terminal: GenerateContentResponse | null = null;
  /** Parts for the final chunk: the terminal chunk's content, then held function calls. */
  readonly finalParts: Part[] = [];
  readonly heldCalls: Part[] = [];
  rewrite = false;
  readonly #aligner: Aligner | null;
  readonly #showThoughts: boolean;
  /** Answer code points given to the aligner, and those it released for the client. */
  #pushedChars = 0;
  #emittedChars = 0;
  #discarded = 0;

  constructor(aligner: Aligner | null, showThoughts: boolean) {
    this.#aligner = aligner;
    this.#showThoughts = showThoughts;
  }

  /** Code points the aligner dropped, plus undecided text discarded at a non-STOP end (see `finish`). */
  get removedChars(): number {
    return (this.#aligner?.removedChars ?? 0) + this.#discarded;
  }

  /** Takes one upstream chunk; returns the candidate and parts to emit now (empty when nothing is due). */
  take(chunk: GenerateContentResponse): { cand: Candidate | undefined; parts: Part[] } {
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (chunk.promptFeedback?.blockReason) {
      this.obs.blockReason = chunk.promptFeedback.blockReason;
      this.terminal = chunk;
      return { cand: undefined, parts: [] };
    }
    const cand = chunk.candidates?.[0];
    if (cand?.finishReason) this.obs.finishReason = cand.finishReason;
    const out: Part[] = [];
    for (const part of cand?.content?.parts ?? []) {
      if (part.thought === true) {
        this.obs.thoughtChars += part.text?.length ?? 0;
        if (this.#showThoughts) out.push(part);
      } else if (part.functionCall) {
        this.obs.functionCalls++;
        this.heldCalls.push(part);
      } else if (typeof part.text === "string") {
        this.obs.answerChars += part.text.length;
        if (this.#aligner === null) out.push(part);
        else {
          this.#pushedChars += codePoints(part.text);
          const s = this.#aligner.push(part.text);
          if (s.kind === "rewrite") {
            this.rewrite = true;
            return { cand, parts: [] };
          }
          if (s.kind === "emit" && s.text.length > 0) {
            this.#emittedChars += codePoints(s.text);
            out.push({ text: s.text });
          }
        }
      } else {
        out.push(part); // inline data, code execution results…: forwarded as they are.
      }
    }
    if (cand?.finishReason && isTerminalFinishReason(cand.finishReason)) {
      this.terminal = chunk;
      this.finalParts.push(...out);
      return { cand, parts: [] };
    }
    return { cand, parts: out };
  }

  /**
   * The stream ended: settles the aligner's undecided text. It joins the final chunk only when the continuation
   * ended with STOP: that text is then the real end of the answer.
   *
   * Any other end (a cut, MAX_TOKENS, a block) drops it. Undecided text is ambiguous: typically the first part of
   * a repeat of the sent answer's tail, which cannot be told from new text until the repeat is complete. Emitting
   * it would show the client that repeat as new text, and feed it back to the next continuation as if it were
   * the answer. Dropping it is safe: the next continuation starts from exactly what the client has and produces
   * that text again (and a MAX_TOKENS or blocked answer is incomplete anyway).
   */
  finish(): void {
    if (this.#aligner === null || this.rewrite) return;
    if (this.terminal === null || this.obs.finishReason !== "STOP") {
      this.#discarded = Math.max(0, this.#pushedChars - this.#emittedChars - this.#aligner.removedChars);
      return;
    }
    const s = this.#aligner.finish();
    if (s.kind === "rewrite") this.rewrite = true;
    else if (s.kind === "emit" && s.text.length > 0) this.finalParts.push({ text: s.text });
  }
}

const codePoints = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** Answer characters (not thoughts) in `parts`. */
export function textLength(parts: readonly Part[]): number {
  return parts.reduce(
    (n, p) => n + (p.thought !== true && typeof p.text === "string" ? p.text.length : 0),
    0,
  );
}

/** A client chunk holding `parts`, keeping the candidate's other fields (safety ratings, citations, …). */
export function chunkFrom(cand: Candidate | undefined, parts: Part[]): GenerateContentResponse {
  const { content: _c, finishReason: _f, finishMessage: _m, ...extras } = cand ?? {};
  return { candidates: [{ ...extras, content: { role: "model", parts }, index: 0 }] };
}

/** The one chunk that carries the finishReason (and the summed usage). */
export function finalChunk(
  terminal: GenerateContentResponse | null,
  parts: Part[],
  usage: UsageMetadata | undefined,
): GenerateContentResponse {
  const { candidates, usageMetadata: _u, responseId: _r, modelVersion: _v, ...rest } = terminal ?? {};
  const cand = candidates?.[0];
  const out: GenerateContentResponse = { ...rest };
  if (cand !== undefined || terminal === null) {
    const content = { role: "model", parts: parts.length > 0 ? parts : [{ text: "" }] };
    out.candidates = [{ ...cand, content, finishReason: cand?.finishReason ?? "STOP", index: 0 }];
  }
  if (usage) out.usageMetadata = usage;
  return out;
}

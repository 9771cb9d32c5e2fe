/**
 * The continuation builder over the client's request bytes. Same requests as `continuation-builder.ts` (same turns,
 * same prompt, same `maxOutputTokens` budget; equal after `JSON.parse`), built by splicing: the original bytes are
 * kept once, and each attempt's body is a list of pieces, views into those bytes around the few new bytes (the
 * appended answer part, the model and user turns, the rewritten `generationConfig`). Nothing of the original is
 * decoded, parsed or re-serialized per attempt; only the content the language detection reads is parsed, on demand.
 */

import { ContinuationAligner } from "../stream/aligner";
import { MAX_SCAN_CHARS } from "../stream/language";
import {
  type ContinuationOptions,
  continuationTurns,
  languageOf,
  reducedMaxOutputTokens,
} from "./continuation-builder";
import type { ContinuationKit } from "./engine-types";
import { contentTextTail, indexGenerateContentRequest, type RequestIndex, type Span } from "./request-index";
import type { Content, GenerationConfig } from "./types";

/** A request as the session holds it: the client's bytes and their index. */
export interface OriginalRequest {
  readonly bytes: Uint8Array;
  readonly index: RequestIndex;
}

/** One attempt's body: `pieces` sent back to back (views into the original plus small new parts). */
export interface EncodedRequest {
  readonly pieces: readonly Uint8Array[];
  readonly byteLength: number;
  /** What continuations and restarts are built from. */
  readonly original: OriginalRequest;
}

const encoder = new TextEncoder();

/** The request for `bytes` as the first attempt sends it, or null when it cannot be indexed (`request-index.ts`). */
export function encodedRequest(bytes: Uint8Array): EncodedRequest | null {
  const index = indexGenerateContentRequest(bytes);
  if (index === null) return null;
  return { pieces: [bytes], byteLength: bytes.length, original: { bytes, index } };
}

/** The `generationConfig` object, when it is one. */
export function generationConfigOf(index: RequestIndex): GenerationConfig | undefined {
  const v = index.generationConfig?.value;
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as GenerationConfig) : undefined;
}

interface Edit {
  /** Bytes `[at, until)` of the original are replaced by `insert`. */
  at: number;
  until: number;
  insert: string;
}

function splice(original: OriginalRequest, edits: Edit[]): EncodedRequest {
  edits.sort((a, b) => a.at - b.at);
  const pieces: Uint8Array[] = [];
  let from = 0;
  let byteLength = 0;
  const push = (p: Uint8Array) => {
    if (p.length === 0) return;
    pieces.push(p);
    byteLength += p.length;
  };
  for (const e of edits) {
    push(original.bytes.subarray(from, e.at));
    push(encoder.encode(e.insert));
    from = e.until;
  }
  push(original.bytes.subarray(from));
  return { pieces, byteLength, original };
}

/** The `generationConfig` replacement that applies the output budget (`withBudget` of the object builder). */
function budgetEdit(original: OriginalRequest, produced: number | undefined): Edit[] {
  const span = original.index.generationConfig;
  const config = generationConfigOf(original.index);
  if (produced === undefined || span === null || config === undefined) return [];
  const max = config.maxOutputTokens;
  if (max === undefined) return [];
  const reduced = reducedMaxOutputTokens(max, produced);
  if (reduced === max) return [];
  return [
    { at: span.start, until: span.end, insert: JSON.stringify({ ...config, maxOutputTokens: reduced }) },
  ];
}

/** A content standing for the one at `span` as the language detection reads it: the tail of its text, as one part. */
function textContent(bytes: Uint8Array, span: Span): Content {
  return { role: "user", parts: [{ text: contentTextTail(bytes, span, MAX_SCAN_CHARS) }] };
}

/** `buildContinuationRequest` over bytes: same result after parsing, without re-serializing the original. */
export function buildContinuationBody(
  request: EncodedRequest,
  answerText: string,
  opts: ContinuationOptions,
): EncodedRequest {
  const original = request.original;
  if (answerText === "")
    return buildRestartBody(request, { producedOutputTokens: opts.producedOutputTokens });
  const { bytes, index } = original;
  const items = index.contents.items;
  const language =
    opts.language ??
    languageOf(
      items.map((c) => c.role),
      // Only the text the detection reads (its last MAX_SCAN_CHARS units) is decoded, never a whole content.
      (i) => textContent(bytes, items[i] as Span),
      () => (index.systemInstruction === null ? undefined : textContent(bytes, index.systemInstruction)),
      answerText,
    );
  const { answerPart, userTurn } = continuationTurns(answerText, language, opts);
  const edits: Edit[] = [];
  const last = items[items.length - 1];
  const closeContents = index.contents.end - 1;
  let turns: string;
  if (last !== undefined && last.role === "model") {
    // Two model turns in a row are invalid: the answer continues the client's prefill turn.
    const closeParts = last.parts.end - 1;
    const sep = last.parts.count > 0 ? "," : "";
    edits.push({ at: closeParts, until: closeParts, insert: sep + JSON.stringify(answerPart) });
    turns = JSON.stringify(userTurn);
  } else {
    turns = `${JSON.stringify({ role: "model", parts: [answerPart] })},${JSON.stringify(userTurn)}`;
  }
  edits.push({ at: closeContents, until: closeContents, insert: (items.length > 0 ? "," : "") + turns });
  edits.push(...budgetEdit(original, opts.producedOutputTokens));
  return splice(original, edits);
}

/** `buildRestartRequest` over bytes: the original, with `maxOutputTokens` reduced when `producedOutputTokens` is given. */
export function buildRestartBody(
  request: EncodedRequest,
  opts: { producedOutputTokens?: number },
): EncodedRequest {
  return splice(request.original, budgetEdit(request.original, opts.producedOutputTokens));
}

/** The production kit for requests held as bytes (the `GeminiSession` object). */
export const ENCODED_CONTINUATION_KIT: ContinuationKit<EncodedRequest> = {
  buildContinuation: buildContinuationBody,
  buildRestart: buildRestartBody,
  createAligner: (sentAnswer) => new ContinuationAligner(sentAnswer),
};

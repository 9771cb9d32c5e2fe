/**
 * The hand-over of a protected stream from the Worker to its `GeminiSession` (issue 13): the Worker served the
 * client the first attempt's events itself; once a continuation is needed it reads the session's log from event `k`
 * (the count it delivered) as raw events, one JSON line each, and encodes them into the same client body, so a
 * format's stateful encoding (the JSON array's commas, OpenAI's first chunk and `[DONE]`) runs in one encoder
 * across the hand-over.
 *
 * Both sides built the first `k` events from the same upstream bytes, so they must be equal. The Worker sends a
 * digest of the events it delivered; the object compares it with its own first `k` and answers a mismatch with an
 * explicit in-band failure, never a silent duplicate or gap. Pure: no platform APIs.
 */
import type { GenerateContentResponse } from "../../gemini/types";

/** One line of the object's answer. */
export type HandoverLine =
  | { e: GenerateContentResponse }
  | { end: { result: string } }
  /** The session ended with an HTTP error before any event (only served from event 0). */
  | { http_error: { status: number; headers: [string, string][]; body: string } };

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A running digest of delivered events (FNV-1a, 32 bits, over each event's JSON and a separator): cheap enough to
 * keep per event on the Worker's hot path. It guards against a divergence between two engines, not an adversary.
 */
export class EventDigest {
  #h = FNV_OFFSET;
  #count = 0;

  add(event: GenerateContentResponse): void {
    const text = JSON.stringify(event);
    let h = this.#h;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, FNV_PRIME) >>> 0;
    }
    h ^= 0x0a;
    this.#h = Math.imul(h, FNV_PRIME) >>> 0;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** `<count>-<hex>`: the count is part of it, so a shorter log never matches. */
  get value(): string {
    return `${this.#count}-${this.#h.toString(16)}`;
  }
}

/** The digest of a log's first `k` events (or of all of them when it holds fewer). */
export function digestOf(events: readonly GenerateContentResponse[], k: number): string {
  const d = new EventDigest();
  for (let i = 0; i < Math.min(k, events.length); i++) d.add(events[i] as GenerateContentResponse);
  return d.value;
}

export function encodeLine(line: HandoverLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** Splits a byte stream of lines into parsed `HandoverLine`s (a line never contains a raw newline). */
export class LineReader {
  readonly #decoder = new TextDecoder();
  #buffer = "";

  push(bytes: Uint8Array): HandoverLine[] {
    this.#buffer += this.#decoder.decode(bytes, { stream: true });
    const lines: HandoverLine[] = [];
    for (let nl = this.#buffer.indexOf("\n"); nl >= 0; nl = this.#buffer.indexOf("\n")) {
      const text = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      if (text !== "") lines.push(JSON.parse(text) as HandoverLine);
    }
    return lines;
  }

  /** Whether bytes of an unfinished line are left (the stream was cut mid-line). */
  get pending(): boolean {
    return this.#buffer !== "";
  }
}

/**
 * Finds where SSE events end in a byte stream, without decoding it. The stream guard forwards an
 * upstream stream event by event: bytes of an event are passed on as soon as the blank line that ends
 * it arrives, in the same read. No client can use an event before that blank line (an SSE reader
 * dispatches on it), so this adds no latency to any event; and a stream cut inside an event never
 * leaves half an event at the client, where it would merge with the guard's final error event.
 *
 * A blank line is two line ends in a row, each a CR, a LF or a CRLF (the SSE spec's three forms, in any
 * mix). CR and LF are ASCII, so they never occur inside a multi-byte UTF-8 character: scanning bytes is
 * exact. The events' text is parsed by `SseParser`; this only frames.
 */

const LF = 10;
const CR = 13;

/** One complete event: its bytes in order, as views of the chunks they arrived in (never copied). */
export type FramedEvent = Uint8Array[];

export class SseFramer {
  /** Bytes of the event still open, as views of the chunks read so far. */
  #open: Uint8Array[] = [];
  #openBytes = 0;
  /** The last byte seen ended a line (true at the start: a leading blank line is an empty event). */
  #atLineStart = true;
  /** The last byte seen was a CR: a LF right after it belongs to the same line end. */
  #afterCr = false;

  /** Bytes of the event that has not ended yet. */
  get openBytes(): number {
    return this.#openBytes;
  }

  /** Returns the events `chunk` completes; the bytes after the last blank line stay open. */
  push(chunk: Uint8Array): FramedEvent[] {
    const events: FramedEvent[] = [];
    let start = 0;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) {
        this.#atLineStart = false;
        this.#afterCr = false;
        continue;
      }
      if (b === LF && this.#afterCr) {
        // Second half of a CRLF whose CR was counted already.
        this.#afterCr = false;
        continue;
      }
      if (!this.#atLineStart) {
        this.#atLineStart = true;
        this.#afterCr = b === CR;
        continue;
      }
      // A line end at the start of a line: the blank line that ends the event.
      let end = i + 1;
      if (b === CR && end < n && chunk[end] === LF) {
        end += 1;
        i += 1;
        this.#afterCr = false;
      } else {
        this.#afterCr = b === CR;
      }
      this.#open.push(chunk.subarray(start, end));
      events.push(this.#open);
      this.#open = [];
      this.#openBytes = 0;
      start = end;
    }
    if (start < n) {
      this.#open.push(start === 0 ? chunk : chunk.subarray(start));
      this.#openBytes += n - start;
    }
    return events;
  }

  /** Takes the bytes of the unfinished event (at the end of the stream). */
  takeOpen(): Uint8Array[] {
    const open = this.#open;
    this.#open = [];
    this.#openBytes = 0;
    return open;
  }
}

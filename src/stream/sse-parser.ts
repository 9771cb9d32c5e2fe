/**
 * Incremental SSE parser for upstream streams (Gemini `:streamGenerateContent?alt=sse`, and the OpenAI
 * and Anthropic streams the integrity guard watches), fed raw bytes.
 *
 * It is deliberately more tolerant than the SSE spec, because the upstream (and the proxies between it and us) are
 * not always well-behaved:
 * - events end at a blank line written as `\r\n\r\n`, `\n\n` or `\r\r` (any mix of CR, LF, CRLF line ends);
 * - `data:` with or without the space; several `data:` lines of one event are joined with `\n`;
 * - `event:`, `id:`, `retry:` and comment lines are ignored (the gateway rebuilds every client event itself);
 * - a raw JSON object that is not inside a `data:` line (Google sends a bare, pretty-printed, multi-line
 *   `{"error": …}` when a stream fails) is collected until its braces balance and reported as one event;
 * - UTF-8 sequences split across reads are decoded correctly (streaming `TextDecoder`).
 */
export interface SseEvent {
  /** The event payload: the joined `data:` lines, or a raw JSON object's text. */
  data: string;
  /** `true` when the payload came as a raw JSON object outside `data:` lines. */
  raw: boolean;
}

export class SseParser {
  readonly #decoder = new TextDecoder("utf-8");
  /** Text of the line being received (no line terminator yet). */
  #line = "";
  /** A CR ended the previous chunk: a LF at the start of the next one belongs to it. */
  #pendingCr = false;
  #dataLines: string[] = [];
  /** Collecting a raw JSON object (lines outside `data:`): its text and brace depth so far. */
  #raw: { text: string; depth: number; inString: boolean; escaped: boolean } | null = null;

  /** Feeds bytes (or already decoded text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    return this.#consume(text);
  }

  /**
   * Ends the input. An event whose blank line never came is returned only when it is complete JSON data
   * (`complete: true` in that case), so a stream cut inside an event never yields a half event.
   */
  end(): SseEvent[] {
    const events = this.#consume(this.#decoder.decode());
    if (this.#line.length > 0) this.#takeLine(this.#line, events);
    this.#line = "";
    if (this.#dataLines.length > 0) {
      const data = this.#dataLines.join("\n");
      this.#dataLines = [];
      if (isCompleteJson(data)) events.push({ data, raw: false });
    }
    this.#raw = null;
    return events;
  }

  #consume(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* LF */) {
        if (this.#pendingCr && i === start && this.#line.length === 0) {
          // The LF of a CRLF whose CR ended the previous line.
          this.#pendingCr = false;
          start = i + 1;
          continue;
        }
        this.#takeLine(this.#line + text.slice(start, i), events);
        this.#line = "";
        this.#pendingCr = false;
        start = i + 1;
      } else if (c === 13 /* CR */) {
        this.#takeLine(this.#line + text.slice(start, i), events);
        this.#line = "";
        this.#pendingCr = true;
        start = i + 1;
        if (text.charCodeAt(i + 1) === 10) {
          i++;
          start = i + 1;
          this.#pendingCr = false;
        }
      } else if (this.#pendingCr) {
        this.#pendingCr = false;
      }
    }
    this.#line += text.slice(start);
    return events;
  }

  #takeLine(line: string, events: SseEvent[]): void {
    if (this.#raw !== null) {
      this.#feedRaw(`\n${line}`, events);
      return;
    }
    if (line.length === 0) {
      this.#dispatch(events);
      return;
    }
    if (line.startsWith("data:")) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      this.#dataLines.push(value);
      return;
    }
    const trimmed = line.trimStart();
    if (trimmed.startsWith("{") && this.#dataLines.length === 0) {
      this.#raw = { text: "", depth: 0, inString: false, escaped: false };
      this.#feedRaw(trimmed, events);
      return;
    }
    if (trimmed === "[" || trimmed === "]" || trimmed === ",") return; // JSON-array framing, if any.
    // `event:`, `id:`, `retry:`, `:comment` and unknown fields: ignored on purpose.
  }

  #dispatch(events: SseEvent[]): void {
    if (this.#dataLines.length === 0) return;
    events.push({ data: this.#dataLines.join("\n"), raw: false });
    this.#dataLines = [];
  }

  /** Tracks brace depth outside strings to find where a raw JSON object ends. */
  #feedRaw(text: string, events: SseEvent[]): void {
    const raw = this.#raw;
    if (raw === null) return;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (raw.inString) {
        if (raw.escaped) raw.escaped = false;
        else if (ch === "\\") raw.escaped = true;
        else if (ch === '"') raw.inString = false;
      } else if (ch === '"') raw.inString = true;
      else if (ch === "{") raw.depth++;
      else if (ch === "}") {
        raw.depth--;
        if (raw.depth === 0) {
          raw.text += text.slice(0, i + 1);
          events.push({ data: raw.text, raw: true });
          this.#raw = null;
          return; // Anything after the closing brace on this line is framing (`,` / `]`).
        }
      }
    }
    raw.text += text;
  }
}

function isCompleteJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

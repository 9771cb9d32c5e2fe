/**
 * A structural index of a `generateContent` request body, read from its UTF-8 bytes without building a parse tree
 * or a decoded copy: where the `contents` array and each content's `parts` array end, each content's role, and the
 * small objects the engine reads (`generationConfig`). The continuation builder splices new turns into the original
 * bytes at these offsets instead of re-serializing the request, so a large request (images, long documents) costs
 * its bytes once, not once per attempt.
 *
 * The scan validates the whole body as JSON (RFC 8259 grammar, UTF-8 included): a body it accepts is one
 * `JSON.parse` accepts too. It answers null for anything it cannot index unambiguously: not JSON, not an object,
 * `contents` missing or not an array of objects with a `parts` array, a duplicated member among the ones it reads,
 * or nesting deeper than `MAX_DEPTH`; such a request is forwarded unprotected.
 */

/** Nesting the scanner follows (JSON.parse-compatible bodies deeper than this are forwarded unprotected). */
export const MAX_DEPTH = 512;

/** `[start, end)` byte offsets of a JSON value. */
export interface Span {
  start: number;
  end: number;
}

export interface IndexedContent extends Span {
  /** The content's `role`, when it is a string. */
  role: string | undefined;
  /** The `parts` array and how many elements it has. */
  parts: Span & { count: number };
}

export interface RequestIndex {
  /** The `contents` array. */
  contents: Span & { items: IndexedContent[] };
  /** The `generationConfig` member, parsed (it is small), when present. */
  generationConfig: (Span & { value: unknown }) | null;
  /** The `systemInstruction` member, when present. */
  systemInstruction: Span | null;
}

class NotIndexable extends Error {}

const fail = (): never => {
  throw new NotIndexable();
};

const decoder = new TextDecoder();

/** The index of `bytes`, or null (see the module comment). */
export function indexGenerateContentRequest(bytes: Uint8Array): RequestIndex | null {
  try {
    const s = new Scanner(bytes);
    const index = s.request();
    s.ws();
    if (s.pos !== bytes.length) fail();
    return index;
  } catch (error) {
    if (error instanceof NotIndexable) return null;
    throw error;
  }
}

/** Parses the JSON value at `span` of `bytes` (a small member, or one content on demand). */
export function parseSpan(bytes: Uint8Array, span: Span): unknown {
  return JSON.parse(decoder.decode(bytes.subarray(span.start, span.end)));
}

/**
 * The last `units` UTF-16 code units (all of it when shorter) of a content's text as the language detection reads it
 * (`textOf` in continuation-builder.ts: the string `text` of each part that is not `thought: true`, joined with "\n"),
 * for the content at `span` of an indexed request. Only those units are decoded: a continuation of a prompt of many
 * megabytes reads a few kilobytes of it here, where parsing the content would make a decoded and a parsed copy of it.
 */
export function contentTextTail(bytes: Uint8Array, span: Span, units: number): string {
  if (bytes[span.start] !== 0x7b) return "";
  const scanner = new Scanner(bytes);
  scanner.pos = span.start;
  const texts = scanner.contentTexts();
  const tails: string[] = [];
  let have = 0;
  for (let i = texts.length - 1; i >= 0 && have < units; i--) {
    if (tails.length > 0) have++; // the "\n" between this part and the ones already taken
    const tail = stringTail(bytes, texts[i] as Span, units - have);
    tails.unshift(tail);
    have += tail.length;
  }
  const joined = tails.join("\n");
  return joined.length > units ? joined.slice(joined.length - units) : joined;
}

/** Raw bytes that surely hold `units` UTF-16 units of a JSON string: at most 6 per unit (`\uXXXX`), plus a cut token. */
const rawBytesFor = (units: number): number => 6 * units + 8;

/**
 * At least the last `units` UTF-16 units of the (validated) JSON string literal at `span`, exactly as `JSON.parse`
 * would give them: the raw tail is cut at a token boundary (never inside a UTF-8 character or an escape), so it
 * decodes to a suffix of the whole string.
 */
function stringTail(b: Uint8Array, span: Span, units: number): string {
  if (units <= 0) return "";
  const close = span.end - 1;
  let p = close - rawBytesFor(units);
  if (p <= span.start + 1) return parseSpan(b, span) as string;
  while (isCont(b[p])) p++;
  // The nearest escape that starts before `p` may cover it: move past it.
  for (let q = p - 1; q >= p - 5; q--) {
    if (b[q] !== 0x5c || !startsEscape(b, q)) continue;
    p = Math.max(p, q + (b[q + 1] === 0x75 ? 6 : 2));
    break;
  }
  return JSON.parse(`"${decoder.decode(b.subarray(p, close))}"`) as string;
}

/** Whether the backslash at `q` starts an escape: inside a JSON string, backslashes pair up from the first of a run. */
function startsEscape(b: Uint8Array, q: number): boolean {
  let run = 1;
  while (b[q - run] === 0x5c) run++;
  return run % 2 === 1;
}

/** Longest key literal the scanner decodes: every key it looks for is far shorter, even fully escaped. */
const MAX_KEY_BYTES = 64;

class Scanner {
  pos = 0;
  readonly #b: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  /** The string `text` literals of the content object at `pos`, of the parts that are not `thought: true`. */
  contentTexts(): Span[] {
    const texts: Span[] = [];
    this.#object(3, (key) => {
      if (key !== "parts") return this.value(3);
      texts.length = 0; // a duplicated `parts` (possible outside `contents`): the last wins, as in JSON.parse
      if (this.#b[this.pos] !== 0x5b) return this.value(3);
      this.#array(4, () => {
        if (this.#b[this.pos] !== 0x7b) return this.value(4);
        let text: Span | null = null;
        let thought = false;
        // Like JSON.parse, the last of duplicated members wins.
        this.#object(5, (member) => {
          const at = this.pos;
          this.value(5);
          if (member === "text") text = this.#b[at] === 0x22 ? { start: at, end: this.pos } : null;
          else if (member === "thought") thought = this.pos - at === TRUE.length && this.#b[at] === 0x74;
        });
        if (text !== null && !thought) texts.push(text);
      });
    });
    return texts;
  }

  ws(): void {
    const b = this.#b;
    let i = this.pos;
    for (;;) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  #expect(c: number): void {
    if (this.#b[this.pos] !== c) fail();
    this.pos++;
  }

  /** The top-level object, with the members the engine needs. */
  request(): RequestIndex {
    this.ws();
    let contents: RequestIndex["contents"] | null = null;
    let generationConfig: RequestIndex["generationConfig"] = null;
    let systemInstruction: Span | null = null;
    this.#object(1, (key) => {
      const start = this.pos;
      if (key === "contents") {
        if (contents !== null) fail();
        const items = this.#contents();
        contents = { start, end: this.pos, items };
      } else if (key === "generationConfig") {
        if (generationConfig !== null) fail();
        this.value(1);
        const span = { start, end: this.pos };
        generationConfig = { ...span, value: parseSpan(this.#b, span) };
      } else if (key === "systemInstruction") {
        if (systemInstruction !== null) fail();
        this.value(1);
        systemInstruction = { start, end: this.pos };
      } else {
        this.value(1);
      }
    });
    if (contents === null) return fail();
    return { contents, generationConfig, systemInstruction };
  }

  #contents(): IndexedContent[] {
    const items: IndexedContent[] = [];
    this.#array(2, () => {
      const start = this.pos;
      if (this.#b[start] !== 0x7b) fail();
      let role: string | undefined;
      let roleSeen = false;
      let parts: IndexedContent["parts"] | null = null;
      this.#object(3, (key) => {
        const at = this.pos;
        if (key === "role") {
          if (roleSeen) fail();
          roleSeen = true;
          this.value(3);
          const v = parseSpan(this.#b, { start: at, end: this.pos });
          role = typeof v === "string" ? v : undefined;
        } else if (key === "parts") {
          if (parts !== null || this.#b[at] !== 0x5b) fail();
          let count = 0;
          this.#array(4, () => {
            count++;
            this.value(4);
          });
          parts = { start: at, end: this.pos, count };
        } else {
          this.value(3);
        }
      });
      if (parts === null) fail();
      items.push({ start, end: this.pos, role, parts: parts as unknown as IndexedContent["parts"] });
    });
    return items;
  }

  /** Any JSON value at nesting `depth` (its container's depth). */
  value(depth: number): void {
    this.ws();
    const c = this.#b[this.pos];
    if (c === 0x7b) this.#object(depth + 1, () => this.value(depth + 1), false);
    else if (c === 0x5b) this.#array(depth + 1, () => this.value(depth + 1));
    else if (c === 0x22) this.#string();
    else if (c === 0x74) this.#word(TRUE);
    else if (c === 0x66) this.#word(FALSE);
    else if (c === 0x6e) this.#word(NULL);
    else this.#number();
  }

  /**
   * `{ … }`; `member(key)` is called with the position on the member's value (after whitespace). Keys are decoded
   * only where a caller reads them (`named`), and only when short (`MAX_KEY_BYTES`); elsewhere they are validated and
   * passed as "".
   */
  #object(depth: number, member: (key: string) => void, named = true): void {
    if (depth > MAX_DEPTH) fail();
    this.ws();
    this.#expect(0x7b);
    this.ws();
    if (this.#b[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      const keyStart = this.pos;
      this.#string();
      const key =
        named && this.pos - keyStart <= MAX_KEY_BYTES
          ? (parseSpan(this.#b, { start: keyStart, end: this.pos }) as string)
          : "";
      this.ws();
      this.#expect(0x3a);
      this.ws();
      member(key);
      this.ws();
      const c = this.#b[this.pos++];
      if (c === 0x7d) return;
      if (c !== 0x2c) fail();
    }
  }

  /** `[ … ]`; `item()` is called with the position on each element (after whitespace). */
  #array(depth: number, item: () => void): void {
    if (depth > MAX_DEPTH) fail();
    this.ws();
    this.#expect(0x5b);
    this.ws();
    if (this.#b[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      item();
      this.ws();
      const c = this.#b[this.pos++];
      if (c === 0x5d) return;
      if (c !== 0x2c) fail();
    }
  }

  #string(): void {
    const b = this.#b;
    let i = this.pos;
    if (b[i] !== 0x22) fail();
    i++;
    for (;;) {
      const c = b[i];
      if (c === undefined) fail();
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = b[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) if (!isHex(b[i + k])) fail();
          i += 6;
        } else if (
          e === 0x22 ||
          e === 0x5c ||
          e === 0x2f ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74
        ) {
          i += 2;
        } else fail();
      } else if ((c as number) < 0x20) fail();
      else if ((c as number) < 0x80) i++;
      else i = utf8Char(b, i);
    }
    this.pos = i + 1;
  }

  #word(word: readonly number[]): void {
    for (let k = 0; k < word.length; k++) if (this.#b[this.pos + k] !== word[k]) fail();
    this.pos += word.length;
  }

  #number(): void {
    const b = this.#b;
    let i = this.pos;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit1to9(b[i])) while (isDigit(b[i])) i++;
    else fail();
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit(b[i])) fail();
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) fail();
      while (isDigit(b[i])) i++;
    }
    this.pos = i;
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isDigit1to9 = (c: number | undefined): boolean => c !== undefined && c >= 0x31 && c <= 0x39;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
const isCont = (c: number | undefined): boolean => c !== undefined && (c & 0xc0) === 0x80;

/** Validates one multi-byte UTF-8 character at `i` (no overlongs, no surrogates, ≤ U+10FFFF); returns its end. */
function utf8Char(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  const c1 = b[i + 1] ?? 0;
  if (c >= 0xc2 && c <= 0xdf) {
    if (!isCont(c1)) fail();
    return i + 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (!isCont(b[i + 2])) fail();
    const ok = c === 0xe0 ? c1 >= 0xa0 && c1 <= 0xbf : c === 0xed ? c1 >= 0x80 && c1 <= 0x9f : isCont(c1);
    if (!ok) fail();
    return i + 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!isCont(b[i + 2]) || !isCont(b[i + 3])) fail();
    const ok = c === 0xf0 ? c1 >= 0x90 && c1 <= 0xbf : c === 0xf4 ? c1 >= 0x80 && c1 <= 0x8f : isCont(c1);
    if (!ok) fail();
    return i + 4;
  }
  return fail();
}

/**
 * Reads the top-level `"stream"` member of a JSON request body straight from its bytes. The body is
 * already held in memory for failover (`replay-body.ts`); scanning it in place costs no decoded copy
 * and no parse tree, whatever its size (a request with images runs to megabytes).
 *
 * Only the top level counts (`{"metadata":{"stream":true}}` is not a streaming request); the last
 * occurrence wins, as with `JSON.parse`. A key written with escapes (`"str\u0065am"`) is not
 * recognised: no client library writes it that way.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const KEY = [0x73, 0x74, 0x72, 0x65, 0x61, 0x6d]; // stream
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function matchesAt(bytes: Uint8Array, at: number, word: readonly number[]): boolean {
  for (let k = 0; k < word.length; k++) if (bytes[at + k] !== word[k]) return false;
  return true;
}

/**
 * `true` or `false` for a top-level `"stream": true|false`; `false` when the member is absent or not a
 * boolean (the APIs default to a single JSON answer); `null` when the body is not a JSON object.
 */
export function streamFlagOf(bytes: Uint8Array): boolean | null {
  let i = 0;
  const n = bytes.length;
  while (isSpace(bytes[i])) i++;
  if (bytes[i] !== 0x7b /* { */) return null;
  let depth = 0;
  let expectKey = false;
  let flag = false;
  for (; i < n; i++) {
    const b = bytes[i];
    if (b === QUOTE) {
      const start = i + 1;
      i = start;
      while (i < n && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1;
      if (depth !== 1 || !expectKey) continue;
      expectKey = false;
      if (i - start !== KEY.length || !matchesAt(bytes, start, KEY)) continue;
      let j = i + 1;
      while (isSpace(bytes[j])) j++;
      if (bytes[j] !== 0x3a /* : */) continue;
      j++;
      while (isSpace(bytes[j])) j++;
      if (matchesAt(bytes, j, TRUE)) flag = true;
      else if (matchesAt(bytes, j, FALSE)) flag = false;
      else flag = false;
      continue;
    }
    if (b === 0x7b || b === 0x5b /* { [ */) {
      depth++;
      expectKey = b === 0x7b && depth === 1;
    } else if (b === 0x7d || b === 0x5d /* } ] */) {
      depth--;
      if (depth === 0) return flag;
    } else if (b === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return depth === 0 ? flag : null;
}

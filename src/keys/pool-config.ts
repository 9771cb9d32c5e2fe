/**
 * The text of a key-pool secret (issue 14): one provider key per line, optionally followed by
 * `weight=N` (a positive number, default 1). Blank lines and lines starting with `#` are ignored;
 * surrounding whitespace is trimmed. Example:
 *
 *     # free tier keys
 *     AIzaSyA...   weight=1
 *     AIzaSyB...   weight=3
 *
 * Errors name the secret and the line number, never the key itself.
 */
import { ConfigError } from "../transport/errors";

export interface KeyEntry {
  key: string;
  weight: number;
}

const WEIGHT = /^weight=(\S+)$/;

export function parseKeyPoolText(secretName: string, text: string): KeyEntry[] {
  const entries: KeyEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${secretName} line ${i + 1}`;
    const [key, ...options] = line.split(/\s+/);
    let weight = 1;
    for (const option of options) {
      const match = WEIGHT.exec(option);
      if (!match) {
        throw new ConfigError(
          where,
          "expected a key optionally followed by weight=N (the key itself is not shown)",
        );
      }
      weight = Number(match[1]);
      if (!Number.isFinite(weight) || weight <= 0) {
        throw new ConfigError(where, `weight must be a positive number, got ${JSON.stringify(match[1])}`);
      }
    }
    entries.push({ key: key!, weight });
  }
  if (entries.length === 0) {
    throw new ConfigError(
      secretName,
      "the key pool secret holds no key (one key per line; # starts a comment)",
    );
  }
  return entries;
}

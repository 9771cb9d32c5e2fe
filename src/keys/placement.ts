/**
 * Puts the chosen pool key into an upstream request (pure). Whatever credential the client sent —
 * `Authorization`, `x-api-key`, `x-goog-api-key`, `api-key`, a `?key=` query value, or the pool's own
 * header or parameter — is removed first, so the only key that reaches the provider is the pool's.
 * The rest of the query string is kept byte-exact.
 */
import type { KeyPlacement } from "../transport/endpoint";

/** Credential headers clients of the fronted APIs send (OpenAI, Anthropic, Gemini, Azure style). */
export const CLIENT_KEY_HEADERS = ["authorization", "x-api-key", "x-goog-api-key", "api-key"] as const;
/** Credential query parameters clients send (Gemini's `?key=`). */
export const CLIENT_KEY_PARAMS = ["key"] as const;

export const BEARER: KeyPlacement = { kind: "bearer" };

/** Drops the named parameters from `search` (`""` or starting with `?`), leaving the others as written. */
export function withoutParams(search: string, names: ReadonlySet<string>): string {
  if (search.length <= 1) return search;
  const kept = search
    .slice(1)
    .split("&")
    .filter((part) => {
      const eq = part.indexOf("=");
      const raw = eq === -1 ? part : part.slice(0, eq);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, " "));
      } catch {
        // A malformed escape is kept as written; it names no credential we know.
      }
      return !names.has(name.toLowerCase());
    });
  return kept.length === 0 ? "" : `?${kept.join("&")}`;
}

export function applyKey(
  headers: Headers,
  search: string,
  placement: KeyPlacement,
  key: string,
): { headers: Headers; search: string } {
  const out = new Headers(headers);
  for (const name of CLIENT_KEY_HEADERS) out.delete(name);
  const params = new Set<string>(CLIENT_KEY_PARAMS);
  if (placement.kind === "header") out.delete(placement.name);
  if (placement.kind === "query") params.add(placement.name.toLowerCase());
  let query = withoutParams(search, params);
  switch (placement.kind) {
    case "bearer":
      out.set("authorization", `Bearer ${key}`);
      break;
    case "header":
      out.set(placement.name, placement.name.toLowerCase() === "authorization" ? `Bearer ${key}` : key);
      break;
    case "query":
      query = `${query === "" ? "?" : `${query}&`}${encodeURIComponent(placement.name)}=${encodeURIComponent(key)}`;
      break;
  }
  return { headers: out, search: query };
}

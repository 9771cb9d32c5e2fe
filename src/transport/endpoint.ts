/**
 * The shape of a configured endpoint (a preset or an `ENDPOINTS` entry, DESIGN §5.1), shared by the
 * Worker (which parses it), the Durable Objects and the egress layer (which use it).
 */
export type TransportKind = "socket" | "fetch";

export interface TargetConfig {
  /** Base URL without a trailing slash, e.g. `https://api.groq.com/openai` or `http://127.0.0.1:9000`. */
  url: string;
  /** Relative selection weight, > 0. */
  weight: number;
}

export interface EndpointConfig {
  /** Route name: the first path segment, e.g. `openai`. */
  name: string;
  /** Human name for the dashboard, e.g. `OpenAI`. */
  displayName: string;
  targets: TargetConfig[];
  transport: TransportKind;
  /** Speaks the Gemini API: the anti-truncation engine applies (DESIGN §5.1). */
  gemini: boolean;
  /** Per-endpoint overrides of the health/outlier policy (issue 4); opaque to the config parser. */
  health?: Record<string, number>;
  /** A provider key pool (issue 14): the gateway chooses the key, the client must bring the token. */
  keys?: KeyPoolSpec;
  /** How the provider takes a key (built-in presets know theirs; default `Authorization: Bearer`). */
  keyPlacement?: KeyPlacement;
  /** Stream repair on this endpoint (issue 12); unset: `STREAM_REPAIR_ENABLED`. The guard is always on. */
  repair?: boolean;
  /**
   * How an OpenAI-style stream is continued: `prefix` (`"prefix": true` assistant message: Mistral, DeepSeek's
   * `/beta`), `partial` (`"partial": true`: Moonshot), `prompt` (the continue prompt, default).
   */
  continuation?: ContinuationMethod;
}

export type ContinuationMethod = "prefix" | "partial" | "prompt";

/**
 * Where a provider key goes in the upstream request: `Authorization: Bearer <key>`, a header holding
 * the bare key (`x-api-key`, `x-goog-api-key`), or a query parameter (`?key=`).
 */
export type KeyPlacement =
  | { kind: "bearer" }
  | { kind: "header"; name: string }
  | { kind: "query"; name: string };

export interface KeyPoolSpec {
  /** Name of the secret holding the keys, one per line (`src/keys/pool-config.ts`). */
  secret: string;
  placement: KeyPlacement;
}

/**
 * Joins a target base URL with the client's path remainder and query, byte-exact: no `//`
 * collapsing, no re-encoding (DESIGN §4). `rest` starts with `/` or is empty; `search` starts with
 * `?` or is empty.
 */
export function joinTargetUrl(base: string, rest: string, search: string): string {
  const trimmed = base.endsWith("/") ? base.slice(0, -1) : base;
  return `${trimmed}${rest}${search}`;
}

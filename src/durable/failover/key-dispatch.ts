/**
 * Key pools inside `dispatch()` (issue 14): for an endpoint with `keys`, each attempt takes a key
 * from the pool (weighted by health, or pinned by `x-proxy-affinity`), sends it the way the provider
 * takes keys, and reports what the answer says about the key to the endpoint's `TargetHealth` object
 * through the same isolate views and batching as target outcomes.
 *
 * A key-attributable failure (429, 401/403, an invalid-key 400, 402 or a spent quota) is the key's
 * fault, not the target's: the target gets no outcome, and while the request body can be replayed the
 * request moves to another key before anything reaches the client. When no key is left:
 * every remaining key cooling → `KeysCoolingError` (429 with the soonest `Retry-After`); all invalid →
 * `NoUsableKeyError` (503).
 */
import { AFFINITY_HEADER, affinityOf, rendezvousPick } from "../../keys/affinity";
import {
  classifyKeyResponse,
  KEY_ERROR_BODY_LIMIT_BYTES,
  type KeyVerdict,
  needsBody,
} from "../../keys/classify";
import { KeysCoolingError, NoUsableKeyError } from "../../keys/errors";
import { type KeyPool, type PoolKey, resolveKeyPool } from "../../keys/fingerprint";
import { chooseKey } from "../../keys/key-choice";
import { applyKey } from "../../keys/placement";
import type { EndpointConfig, TargetConfig } from "../../transport/endpoint";
import { UpstreamHandshakeError } from "../../transport/ws-handshake";
import { type HealthPolicy, policyFor, stateOf, type TargetRecord } from "../health/health-policy";
import type { HealthEnv, HealthViewContext, HealthViews } from "../health/health-snapshot";

/** The affinity pick among the healthy targets not yet tried; null when none is healthy (normal selection then). */
export function affinityTarget(
  targets: readonly TargetConfig[],
  records: Readonly<Record<string, TargetRecord>>,
  now: number,
  exclude: ReadonlySet<string>,
  affinity: string,
): TargetConfig | null {
  const healthy = targets.filter((t) => !exclude.has(t.url) && stateOf(records[t.url], now) === "healthy");
  return rendezvousPick(
    healthy.map((t) => ({ id: t.url, weight: t.weight, item: t })),
    affinity,
  );
}

/** The client's headers for the upstream, without the gateway's own affinity header. */
export function upstreamHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  out.delete(AFFINITY_HEADER);
  return out;
}

export interface KeyJudgement {
  /** The answer to deliver (rebuilt when its body was read to classify it). */
  response: Response;
  /** The answer is about the key (rate limited, invalid, out of quota), not about the target. */
  keyFailure: boolean;
}

/** One request's use of an endpoint's key pool. */
export class KeyAttempts {
  readonly pool: KeyPool;
  readonly affinity: string | null;
  readonly #tried = new Set<string>();
  readonly #endpoint: EndpointConfig;

  constructor(endpoint: EndpointConfig, pool: KeyPool, affinity: string | null) {
    this.#endpoint = endpoint;
    this.pool = pool;
    this.affinity = affinity;
  }

  /** Keys that failed as keys during this request (each was followed by another attempt). */
  get keyFailures(): number {
    return this.#tried.size;
  }

  /** The pool of `endpoint` (null without one), resolved from the secret it names in `env`. */
  static async open(endpoint: EndpointConfig, env: HealthEnv, headers: Headers): Promise<KeyAttempts | null> {
    const spec = endpoint.keys;
    if (!spec) return null;
    const pool = await resolveKeyPool(spec.secret, (env as unknown as Record<string, unknown>)[spec.secret]);
    return new KeyAttempts(endpoint, pool, affinityOf(headers));
  }

  /** The key for the next attempt; throws when none is usable. */
  choose(views: HealthViews, now: number, random: () => number): PoolKey {
    const choice = chooseKey(this.pool, views.keyRecords(this.#endpoint), {
      now,
      random,
      exclude: this.#tried,
      affinity: this.affinity,
    });
    if (choice.kind === "key") return choice.key;
    if (choice.kind === "cooling") {
      throw new KeysCoolingError(this.#endpoint.name, Math.max(1, Math.ceil((choice.until - now) / 1000)));
    }
    throw new NoUsableKeyError(this.#endpoint.name);
  }

  /** Headers and query string of an attempt that uses `key`. */
  apply(headers: Headers, search: string, key: PoolKey): { headers: Headers; search: string } {
    return applyKey(upstreamHeaders(headers), search, this.#endpoint.keys!.placement, key.key);
  }

  /**
   * Reports an answer known only by its status (a WebSocket handshake) for `key`; true when it is the
   * key's failure (the key is then skipped for the rest of this request).
   */
  reportStatus(
    key: PoolKey,
    status: number,
    at: number,
    views: HealthViews,
    policy: HealthPolicy,
    ctx: HealthViewContext,
  ): boolean {
    const verdict = classifyKeyResponse(status, new Headers(), null, at);
    return this.#report(key, status, verdict, at, views, policy, ctx);
  }

  /** Classifies the answer for `key`, reports it, and says whether it is the key's failure. */
  async judge(
    response: Response,
    key: PoolKey,
    at: number,
    views: HealthViews,
    policy: HealthPolicy,
    ctx: HealthViewContext,
  ): Promise<KeyJudgement> {
    let delivered = response;
    let body: unknown = null;
    if (needsBody(response.status)) {
      const read = await readErrorBody(response);
      delivered = read.response;
      body = read.json;
    }
    const verdict: KeyVerdict = classifyKeyResponse(response.status, response.headers, body, at);
    const keyFailure = this.#report(key, response.status, verdict, at, views, policy, ctx);
    return { response: delivered, keyFailure };
  }

  #report(
    key: PoolKey,
    status: number,
    verdict: KeyVerdict,
    at: number,
    views: HealthViews,
    policy: HealthPolicy,
    ctx: HealthViewContext,
  ): boolean {
    views.reportKey(
      this.#endpoint,
      policy,
      {
        fingerprint: key.fingerprint,
        at,
        kind: verdict.kind,
        status,
        generation: this.pool.generation,
        ...(verdict.cooldownMs === undefined ? {} : { cooldownMs: verdict.cooldownMs }),
      },
      ctx,
    );
    const keyFailure = verdict.kind !== "success" && verdict.kind !== "other";
    // Only a key that failed as a key is skipped for the rest of this request; a target failure
    // (5xx, timeout) says nothing against the key.
    if (keyFailure) this.#tried.add(key.fingerprint);
    return keyFailure;
  }
}

/**
 * Reads a small error body to classify it, from a copy (`clone()`), so the response delivered is the
 * upstream's own, content coding and all. A body that says it is larger than
 * `KEY_ERROR_BODY_LIMIT_BYTES` is not read (it is not a provider's error JSON).
 */
async function readErrorBody(response: Response): Promise<{ response: Response; json: unknown }> {
  const length = Number(response.headers.get("content-length") ?? "0");
  if (response.body === null || !(length <= KEY_ERROR_BODY_LIMIT_BYTES)) return { response, json: null };
  const copy = response.clone();
  let json: unknown = null;
  try {
    json = JSON.parse(await copy.text());
  } catch {
    // Not JSON (or still content-coded): classified by status and headers alone.
  }
  return { response, json };
}

/**
 * A 429 in Google's error shape for `KeysCoolingError`, for code that consumes upstream answers (the
 * Gemini engine): `Retry-After` and a `RetryInfo` detail carry the soonest key's delay.
 */
export function coolingResponse(error: KeysCoolingError): Response {
  const body = {
    error: {
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      message: error.message,
      details: [
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${error.retryAfterSeconds}s` },
      ],
    },
  };
  return new Response(JSON.stringify(body), {
    status: 429,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "retry-after": String(error.retryAfterSeconds),
      "x-proxy-error": error.reason,
    },
  });
}

/**
 * For a repair engine's attempt (Gemini, OpenAI, Anthropic sessions): every pool key cooling down is
 * the provider's own 429 with the soonest key's delay, so the engine applies its rate-limit rules
 * (wait when the delay is within its bounds, else hand the 429 and its `Retry-After` to the client)
 * instead of counting a failed attempt. Any other error is rethrown.
 */
export function coolingAsAnswer(error: unknown): { response: Response } {
  if (!(error instanceof KeysCoolingError)) throw error;
  return { response: coolingResponse(error) };
}

/** The keyed headers and query string a relay's upstream handshake is opened with. */
export type RelayOpener = (headers: Headers, search: string) => Promise<Response>;

/**
 * Opens a WebSocket relay with a pool key (issue 14): the same choice as `dispatch()`, and a
 * handshake refused for the key's sake (401, 402, 403, 429) moves to another key before the client
 * gets its 101. The relay object keeps the handshake it was opened with, so a Gemini Live session
 * resumes with the key it started with. Without a pool, the client's headers go as they are (minus
 * the gateway's affinity header).
 */
export async function openWithPoolKey(
  endpoint: EndpointConfig,
  env: HealthEnv,
  waitUntil: (p: Promise<unknown>) => void,
  headers: Headers,
  search: string,
  open: RelayOpener,
  views: HealthViews,
): Promise<Response> {
  const keys = await KeyAttempts.open(endpoint, env, headers);
  if (!keys) return open(upstreamHeaders(headers), search);
  const policy = policyFor(endpoint);
  const ctx: HealthViewContext = { env, waitUntil, now: Date.now };
  views.view(endpoint, policy, ctx); // refreshes the isolate's snapshot (key records ride along)
  for (;;) {
    const key = keys.choose(views, Date.now(), Math.random);
    const keyed = keys.apply(headers, search, key);
    try {
      const response = await open(keyed.headers, keyed.search);
      keys.reportStatus(key, 101, Date.now(), views, policy, ctx);
      return response;
    } catch (error) {
      const status = error instanceof UpstreamHandshakeError ? error.upstreamStatus : null;
      if (status === null || !keys.reportStatus(key, status, Date.now(), views, policy, ctx)) throw error;
    }
  }
}

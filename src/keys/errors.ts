/** Errors of key pools (issue 14); `src/worker/errors.ts` maps them to HTTP like every `GatewayError`. */
import { GatewayError } from "../transport/errors";

/** Every usable key is cooling down: come back after `retryAfterSeconds` (sent as `Retry-After`). */
export class KeysCoolingError extends GatewayError {
  readonly retryAfterSeconds: number;
  constructor(endpoint: string, retryAfterSeconds: number) {
    super(
      429,
      "keys_cooling_down",
      `every key of endpoint ${endpoint} is rate limited or out of quota; the first is usable again in ${retryAfterSeconds} s`,
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** No key of the pool can be used (all invalid): the operator must fix the pool's secret. */
export class NoUsableKeyError extends GatewayError {
  constructor(endpoint: string) {
    super(
      503,
      "no_usable_key",
      `no key of endpoint ${endpoint} is usable: the provider rejected every key as invalid; fix the key pool secret (see /health for the fingerprints)`,
    );
  }
}

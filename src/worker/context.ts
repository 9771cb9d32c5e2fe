import type { GatewayConfig } from "./config";
import type { RequestLog } from "./log";
import type { RequestTiming } from "./server-timing";

/** What every handler gets besides the request: bindings, the parsed config and the log line it fills. */
export interface GatewayContext {
  /** The request as the runtime delivered it (itty-router hands handlers a proxy of it). */
  raw: Request;
  url: URL;
  env: Env;
  ctx: ExecutionContext;
  config: GatewayConfig;
  requestId: string;
  /** Fields handlers add to the request's log line. */
  log: Partial<RequestLog>;
  /** Marks for the `Server-Timing` header: handlers wrap their upstream calls in `timing.around`. */
  timing: RequestTiming;
}

/** Secrets to scrub from anything that leaves: the proxy token, as written and percent-encoded. */
export function secretsOf(config: GatewayConfig): string[] {
  if (!config.authToken) return [];
  const encoded = encodeURIComponent(config.authToken);
  return encoded === config.authToken ? [config.authToken] : [config.authToken, encoded];
}

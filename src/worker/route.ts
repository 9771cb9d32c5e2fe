/**
 * Which proxy route a path names (DESIGN §4). Pure: the router calls it for every path that is not one
 * of the gateway's own pages. The path is split on raw bytes, so what follows the endpoint is
 * forwarded exactly as the client wrote it.
 */
import type { EndpointConfig } from "../transport/endpoint";
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from "../transport/errors";
import { isValidPathToken, isValidToken } from "./auth";
import type { GatewayConfig } from "./config";

export type GenericScheme = "http" | "https" | "ws" | "wss";

export type ProxyRoute =
  | { kind: "preset"; endpoint: EndpointConfig; rest: string }
  | { kind: "generic"; scheme: GenericScheme; hostPort: string; rest: string };

const GENERIC_SCHEMES = new Set<string>(["http", "https", "ws", "wss"]);

export const GENERIC_DISABLED_MESSAGE =
  "the generic proxy is disabled because AUTH_TOKEN is not set: set it with `wrangler secret put AUTH_TOKEN` " +
  "(locally in .dev.vars), then call /{AUTH_TOKEN}/https/{host}/{path} or send the token in x-proxy-token";

/** True when a first path segment names a preset or a generic-proxy scheme. */
export function isProxyPrefix(config: GatewayConfig, segment: string): boolean {
  return GENERIC_SCHEMES.has(segment) || config.endpoints.has(segment);
}

/**
 * The query as the client wrote it, `?` included: `URL.search` is "" for an empty query, which would
 * turn `/path?` into `/path` (DESIGN §4 forwards the query byte-exact). "" when there is no query.
 */
export function rawSearch(url: URL): string {
  if (url.search !== "") return url.search;
  const hash = url.href.indexOf("#");
  return (hash === -1 ? url.href : url.href.slice(0, hash)).endsWith("?") ? "?" : "";
}

/** `/a/b/c` → [`a`, `/b/c`]; `/a` → [`a`, ``]. */
export function splitFirstSegment(path: string): [string, string] {
  const body = path.startsWith("/") ? path.slice(1) : path;
  const slash = body.indexOf("/");
  return slash === -1 ? [body, ""] : [body.slice(0, slash), body.slice(slash)];
}

export function resolveProxyRoute(
  pathname: string,
  config: GatewayConfig,
  headerToken: string | null,
): ProxyRoute {
  if (headerToken !== null && !isValidToken(config.authToken, headerToken)) {
    throw config.authToken === null
      ? new ForbiddenError(
          "x-proxy-token was sent but this gateway has no AUTH_TOKEN configured",
          "auth_not_configured",
        )
      : new UnauthorizedError("invalid x-proxy-token");
  }
  let authenticated = headerToken !== null;
  let [segment, remainder] = splitFirstSegment(pathname);
  const known = (name: string) => isProxyPrefix(config, name);

  if (!known(segment)) {
    const [next, afterNext] = splitFirstSegment(remainder);
    if (config.authToken !== null && isValidPathToken(config.authToken, segment)) {
      if (next === "")
        throw new NotFoundError(
          "no endpoint after the token: use /{token}/{preset}/… or /{token}/https/{host}/…",
        );
      segment = next;
      remainder = afterNext;
      authenticated = true;
      if (!known(segment)) throw new NotFoundError(`unknown endpoint ${JSON.stringify(segment)}`);
    } else if (known(next)) {
      // The first segment stands where a token would: a wrong token, not an unknown endpoint.
      if (config.authToken === null) {
        if (GENERIC_SCHEMES.has(next)) throw new ForbiddenError(GENERIC_DISABLED_MESSAGE, "generic_disabled");
        throw new NotFoundError(
          `unknown endpoint ${JSON.stringify(segment)}: this gateway has no AUTH_TOKEN, call /${next}/… without a token segment`,
        );
      }
      throw new UnauthorizedError("invalid proxy token in the path");
    } else {
      throw new NotFoundError(`unknown endpoint ${JSON.stringify(segment)}`);
    }
  }

  if (GENERIC_SCHEMES.has(segment)) {
    if (config.authToken === null) throw new ForbiddenError(GENERIC_DISABLED_MESSAGE, "generic_disabled");
    if (!authenticated) {
      throw new UnauthorizedError(
        "the generic proxy needs the token: /{token}/https/{host}/… or x-proxy-token",
      );
    }
    const [hostPort, rest] = splitFirstSegment(remainder);
    if (hostPort === "")
      throw new BadRequestError(`missing host: use /{token}/${segment}/{host[:port]}/{path}`);
    return { kind: "generic", scheme: segment as GenericScheme, hostPort, rest };
  }

  const endpoint = config.endpoints.get(segment)!;
  // A key pool spends the operator's keys: only token holders may, whatever PRESET_AUTH_ENABLED says.
  if (endpoint.keys && !authenticated) {
    if (config.authToken === null) {
      throw new ForbiddenError(
        `endpoint ${JSON.stringify(segment)} has a key pool, which requires AUTH_TOKEN: set AUTH_TOKEN, then call /{token}/${segment}/… or send x-proxy-token`,
        "auth_not_configured",
      );
    }
    throw new UnauthorizedError(
      `endpoint ${JSON.stringify(segment)} uses the gateway's key pool and needs the token: /{token}/${segment}/… or x-proxy-token`,
    );
  }
  if (config.presetAuthEnabled && !authenticated) {
    if (config.authToken === null) {
      throw new ForbiddenError(
        "PRESET_AUTH_ENABLED is on but AUTH_TOKEN is not set: set AUTH_TOKEN or turn preset auth off",
        "auth_not_configured",
      );
    }
    throw new UnauthorizedError(
      `preset ${JSON.stringify(segment)} needs the token: /{token}/${segment}/… or x-proxy-token`,
    );
  }
  return { kind: "preset", endpoint, rest: remainder };
}

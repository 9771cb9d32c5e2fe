/**
 * Typed errors, one class per recovery route. Every error the gateway produces itself is a
 * `GatewayError`; `src/worker/errors.ts` is the one place that turns them into HTTP responses
 * (DESIGN §8). The `reason` is the short token sent as `x-proxy-error`.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly reason: string;
  /** HTTP status the upstream answered with, when the error is about an upstream answer. */
  readonly upstreamStatus: number | null;

  constructor(
    status: number,
    reason: string,
    message: string,
    options?: { cause?: unknown; upstreamStatus?: number | null },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
    this.upstreamStatus = options?.upstreamStatus ?? null;
  }
}

/** A client mistake: fix the request. */
export class BadRequestError extends GatewayError {
  constructor(message: string, reason = "bad_request") {
    super(400, reason, message);
  }
}

/** A body stream the client broke (disconnect, length mismatch): not the upstream's fault, no fallback. */
export class ClientBodyError extends BadRequestError {
  constructor(message: string) {
    super(message, "client_body_error");
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message = "missing or invalid proxy token") {
    super(401, "unauthorized", message);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(message: string, reason = "forbidden") {
    super(403, reason, message);
  }
}

export class NotFoundError extends GatewayError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

/** The operator's configuration is invalid: fix the named variable. */
export class ConfigError extends GatewayError {
  /** Where the problem is: a variable, or a path inside one (`ENDPOINTS.mygroq.targets[1]`). */
  readonly variable: string;
  /** The problem itself, without the "invalid configuration: <where>:" prefix. */
  readonly detail: string;
  constructor(variable: string, message: string) {
    super(500, "config_invalid", `invalid configuration: ${variable}: ${message}`);
    this.variable = variable;
    this.detail = message;
  }
}

/**
 * Where a transport failure happened. The fallback rules of DESIGN §6 depend on it:
 * - `before_write`: nothing of the request reached the upstream; always safe to retry elsewhere.
 * - `after_write`: the request (or part of it) was sent but no response byte arrived.
 * - `after_response`: response bytes arrived; never replay.
 */
export type FailurePhase = "before_write" | "after_write" | "after_response";

/** Base of every failure talking to an upstream. */
export class UpstreamError extends GatewayError {
  readonly phase: FailurePhase;
  constructor(
    status: number,
    reason: string,
    message: string,
    phase: FailurePhase,
    options?: { cause?: unknown; upstreamStatus?: number | null },
  ) {
    super(status, reason, message, options);
    this.phase = phase;
  }
}

/** TCP/TLS connection could not be established: try another transport or target. */
export class UpstreamConnectError extends UpstreamError {
  constructor(message: string, options?: { cause?: unknown }, reason = "upstream_connect_failed") {
    super(502, reason, message, "before_write", options);
  }
}

/**
 * TCP connects but the TLS handshake fails: the upstream's certificate was refused (unknown issuer,
 * another host name, expired) or the server broke off the handshake. The platform reports both the
 * same way, so one class names both. Nothing was sent: the fallback rules of a connect failure apply
 * (fetch checks certificates too, so a bad certificate fails there as well); fix the upstream's
 * certificate or the target's host name.
 */
export class UpstreamTlsError extends UpstreamConnectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, "upstream_tls_failed");
  }
}

export type TimeoutKind = "connect" | "first_byte" | "idle" | "deadline";

/** The upstream did not answer in time: fail over before the response starts, fail in-band after. */
export class UpstreamTimeoutError extends UpstreamError {
  readonly kind: TimeoutKind;
  constructor(kind: TimeoutKind, ms: number, phase: FailurePhase) {
    super(
      504,
      `upstream_timeout_${kind}`,
      `upstream ${kind.replace("_", " ")} timeout after ${ms} ms`,
      phase,
    );
    this.kind = kind;
  }
}

/** The upstream spoke something that is not valid HTTP/1.1 (or WebSocket): do not retry the same way. */
export class UpstreamProtocolError extends UpstreamError {
  constructor(message: string, phase: FailurePhase = "after_write") {
    super(502, "upstream_protocol_error", `upstream protocol error: ${message}`, phase);
  }
}

/** The connection was reset or closed early. */
export class UpstreamResetError extends UpstreamError {
  constructor(message: string, phase: FailurePhase, options?: { cause?: unknown }) {
    super(502, "upstream_reset", message, phase, options);
  }
}

/** The client went away: stop working for it (no further attempts, no failover). */
export class ClientClosedError extends GatewayError {
  constructor(message = "the client closed the request") {
    super(499, "client_closed_request", message);
  }
}

/** Every eligible upstream target failed; carries the last cause. */
export class AllTargetsFailedError extends GatewayError {
  readonly attempts: number;
  constructor(message: string, attempts: number, status = 502, upstreamStatus: number | null = null) {
    super(status, "all_targets_failed", message, { upstreamStatus });
    this.attempts = attempts;
  }
}

/** Maps an HTTP status to the Google API `status` string, which the error JSON carries (DESIGN §8). */
export function googleStatusFor(httpStatus: number): string {
  switch (httpStatus) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 413:
      return "OUT_OF_RANGE";
    case 426:
      return "FAILED_PRECONDITION";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 501:
      return "UNIMPLEMENTED";
    case 502:
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return httpStatus >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

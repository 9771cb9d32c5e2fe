import { connect } from "cloudflare:sockets";
import { UpstreamConnectError, UpstreamTimeoutError, UpstreamTlsError } from "./errors";

/**
 * Opens a raw TCP (or TLS) socket to an upstream URL. This is one of the only places allowed to call
 * `connect()` (DESIGN §2). Used by the HTTP/1.1 client (`socket-http.ts`) and the WebSocket client.
 */
export interface OpenSocketOptions {
  /** How long to wait for `socket.opened` (TCP + TLS handshake). */
  connectTimeoutMs: number;
  /** Aborting closes the half-open socket and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Keep our writable side open after the upstream ends its side. Default `false`: neither HTTP/1.1
   * nor WebSocket needs to write after the peer closed, and workerd then closes the socket for us
   * once the readable side ends, so no half-open connection outlives the response.
   */
  allowHalfOpen?: boolean;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "http:": 80,
  "ws:": 80,
  "https:": 443,
  "wss:": 443,
};

/** `https:`/`wss:` use TLS via `secureTransport: "on"`; `http:`/`ws:` plain TCP. */
export function isSecureScheme(protocol: string): boolean {
  return protocol === "https:" || protocol === "wss:";
}

/** The TCP address for a URL: IPv6 brackets stripped, default port filled in. */
export function socketAddressFor(target: URL): { hostname: string; port: number } {
  const defaultPort = DEFAULT_PORTS[target.protocol];
  if (defaultPort === undefined) {
    throw new UpstreamConnectError(`unsupported scheme for socket egress: ${target.protocol}`);
  }
  const host = target.hostname;
  const hostname = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (hostname === "") throw new UpstreamConnectError("upstream URL has no host");
  const port = target.port === "" ? defaultPort : Number(target.port);
  return { hostname, port };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/**
 * Connects and waits until the socket is open (for TLS: until the handshake, certificate check
 * included, is done). Failures are typed: a refused/unreachable host or a host `connect()` refuses
 * (e.g. Cloudflare's own IPs) becomes `UpstreamConnectError`; a TLS handshake that fails on a host
 * that accepts TCP becomes `UpstreamTlsError` (see `tlsFailureOrConnect`); no answer within
 * `connectTimeoutMs` becomes `UpstreamTimeoutError("connect", ms, "before_write")`. All are
 * `before_write`: nothing was sent, so the caller may always fall back. On failure the socket is closed.
 */
export async function openSocket(target: URL, opts: OpenSocketOptions): Promise<Socket> {
  const { signal, connectTimeoutMs } = opts;
  if (signal?.aborted) throw abortReason(signal);
  const address = socketAddressFor(target);
  let socket: Socket;
  try {
    socket = connect(address, {
      secureTransport: isSecureScheme(target.protocol) ? "on" : "off",
      allowHalfOpen: opts.allowHalfOpen ?? false,
    });
  } catch (cause) {
    throw new UpstreamConnectError(
      `cannot connect to ${address.hostname}:${address.port}: ${describe(cause)}`,
      {
        cause,
      },
    );
  }

  // `closed` rejects when the connection breaks (reset, TLS error). Callers observe failures through
  // the streams; an unobserved rejection here would surface as an uncaught error in workerd.
  socket.closed.catch(() => {});

  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const guards = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UpstreamTimeoutError("connect", connectTimeoutMs, "before_write")),
      connectTimeoutMs,
    );
    if (signal) {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    await Promise.race([
      socket.opened.catch(async (cause: unknown) => {
        if (isSecureScheme(target.protocol))
          throw await tlsFailureOrConnect(address, cause, connectTimeoutMs);
        throw new UpstreamConnectError(
          `cannot connect to ${address.hostname}:${address.port}: ${describe(cause)}`,
          { cause },
        );
      }),
      guards,
    ]);
    return socket;
  } catch (err) {
    closeQuietly(socket);
    throw err;
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Names a failed TLS connect. workerd rejects `opened` with the same message ("proxy request failed,
 * cannot connect to the specified address") whether the port refused, the host does not resolve, the
 * certificate was refused or the server reset the handshake; the certificate verdict only reaches
 * workerd's own log. So a plain TCP connect to the same address follows (no byte is written; closed at
 * once): when it opens, TCP works and the handshake is what failed. Bounded by the connect timeout,
 * which also bounds the whole `openSocket` call.
 */
async function tlsFailureOrConnect(
  address: { hostname: string; port: number },
  cause: unknown,
  timeoutMs: number,
): Promise<UpstreamConnectError> {
  const where = `${address.hostname}:${address.port}`;
  if (await tcpOpens(address, timeoutMs)) {
    return new UpstreamTlsError(
      `TLS handshake with ${where} failed: the upstream's certificate was not accepted (issued by an untrusted CA, for another host name, or expired), or the upstream broke off the handshake`,
      { cause },
    );
  }
  return new UpstreamConnectError(`cannot connect to ${where}: ${describe(cause)}`, { cause });
}

async function tcpOpens(address: { hostname: string; port: number }, timeoutMs: number): Promise<boolean> {
  let probe: Socket;
  try {
    probe = connect(address, { secureTransport: "off", allowHalfOpen: false });
  } catch {
    return false;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      probe.opened.then(
        () => true,
        () => false,
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
    closeQuietly(probe);
  }
}

/** Closes a socket, swallowing the rejection `close()` and `closed` produce on a broken socket. */
export function closeQuietly(socket: Socket): void {
  socket.closed.catch(() => {});
  try {
    socket.close().catch(() => {});
  } catch {
    // close() on an already-failed socket may throw synchronously in some workerd versions.
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Test client for the WebSocket relay: calls `openRelay` inside workerd (as the router will) and acts
 * as the WebSocket client through the returned 101's `webSocket`.
 */
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { openRelay, type RelaySettings, type RelayTarget } from "../../src/durable/relay/relay-route";

export function wsMockPort(): number {
  const port = inject("mockPorts").ws;
  if (port === undefined) throw new Error("ws mock not running");
  return port;
}

export function wsUrl(path: string): string {
  return `ws://127.0.0.1:${wsMockPort()}${path}`;
}

/** What the mock observed; `wait` holds the answer until that connection saw its close (or a ping). */
export async function wsMockLog<T>(
  kind: "log" | "live-log",
  id: string,
  wait: false | true | "close" | "ping" = false,
): Promise<T> {
  const query = wait === false ? "" : `?wait=${wait === true ? "close" : wait}`;
  const response = await fetch(`http://127.0.0.1:${wsMockPort()}/${kind}/${id}${query}`);
  if (!response.ok) throw new Error(`no ${kind} for ${id}`);
  return (await response.json()) as T;
}

export function upgradeRequest(headers: Record<string, string> = {}): Request {
  return new Request("http://gateway.test/relay", { headers: { upgrade: "websocket", ...headers } });
}

export type Received = string | ArrayBuffer;

export class RelayClient {
  readonly ws: WebSocket;
  readonly response: Response;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #inbox: Received[] = [];
  readonly #waiters: { resolve: (m: Received) => void; reject: (err: Error) => void }[] = [];
  #closedWith: string | null = null;

  constructor(response: Response) {
    this.response = response;
    const ws = response.webSocket;
    if (!ws) throw new Error("no webSocket on the response");
    this.ws = ws;
    ws.accept();
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (event) => {
      const data = event.data as Received;
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(data);
      else this.#inbox.push(data);
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        // A test waiting for a message that will never come fails with the close instead of a timeout.
        this.#closedWith = `socket closed (${event.code} ${event.reason}) while waiting for a message`;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error(this.#closedWith));
        resolve({ code: event.code, reason: event.reason });
      });
    });
  }

  static async open(
    path: string,
    opts: {
      headers?: Record<string, string>;
      target?: Partial<RelayTarget>;
      settings?: Partial<RelaySettings>;
    } = {},
  ): Promise<RelayClient> {
    const target: RelayTarget = {
      upstreamUrl: wsUrl(path),
      transport: "socket",
      endpointName: "generic",
      geminiLive: false,
      ...opts.target,
    };
    return new RelayClient(await openRelay(env, upgradeRequest(opts.headers), target, opts.settings));
  }

  /** The next message, in arrival order. */
  next(): Promise<Received> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closedWith) return Promise.reject(new Error(this.#closedWith));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async nextText(): Promise<string> {
    const m = await this.next();
    if (typeof m !== "string") throw new Error("expected a text message, got binary");
    return m;
  }

  async nextBinary(): Promise<Uint8Array> {
    const m = await this.next();
    if (typeof m === "string") throw new Error(`expected a binary message, got text ${m.slice(0, 80)}`);
    return new Uint8Array(m);
  }

  /** Messages received and not yet read (for asserting nothing extra arrived). */
  get pending(): number {
    return this.#inbox.length;
  }
}

export function patternBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The control protocol of the raw TCP mock (`rawtcp.mock.ts`), shared by the mock (Node) and the
 * tests (workerd), plus a small client the tests use to drive it over `fetch`.
 */

/** One action of a scripted answer, run in order after the request (head or whole) was received. */
export type RawTcpStep =
  /** Write these bytes (base64). */
  | { write: string }
  /** Write this latin1 text (convenience for readable scripts). */
  | { text: string }
  | { delayMs: number }
  /** Close our side cleanly (FIN). */
  | { end: true }
  /** Abort the connection (RST). */
  | { reset: true }
  /** Keep the connection open and silent until the client goes away. */
  | { hang: true }
  /** Stop reading from the client (its writes back up: TCP backpressure). */
  | { pauseRead: true }
  /** Answer 200 with the received request as JSON (a `ReceivedRequest`). */
  | { echo: true }
  /** Answer 200 with `bytes` of generated body (byte i = i % 251), honouring TCP backpressure. */
  | { download: { bytes: number; chunked?: boolean; chunkSize?: number } };

export interface RawTcpScript {
  steps: RawTcpStep[];
  /** Start the steps after the request head (`head`) or after the whole body (`body`, default). */
  when?: "head" | "body";
}

/** What the control port accepts: one script for every request, or one per request in order (the last repeats). */
export type RawTcpScriptSet = RawTcpScript | { sequence: RawTcpScript[] };

export interface ReceivedRequest {
  method: string;
  target: string;
  version: string;
  /** Header lines as received, in order, names in their original case. */
  headers: [string, string][];
  bodyLength: number;
  /** Hex SHA-256 of the (de-chunked) body; empty until the body is complete. */
  bodySha256: string;
  /** The whole body arrived. */
  complete: boolean;
  /** Bytes of generated `download` body written so far (for backpressure checks). */
  downloadBytesSent: number;
  /** The connection this request came on has closed (by either side). */
  closed: boolean;
}

export interface ReceivedRecord {
  count: number;
  requests: ReceivedRequest[];
}

/** Drives the mock's control port from a test. */
export class RawTcpControl {
  readonly #base: string;
  readonly mainPort: number;
  readonly silentPort: number;
  readonly refusedPort: number;

  constructor(ports: Record<string, number>) {
    const get = (name: string) => {
      const port = ports[name];
      if (port === undefined) throw new Error(`mock port ${name} missing`);
      return port;
    };
    this.mainPort = get("rawtcp");
    this.silentPort = get("rawtcp.silent");
    this.refusedPort = get("rawtcp.refused");
    this.#base = `http://127.0.0.1:${get("rawtcp.control")}`;
  }

  /** Registers a script under a fresh id and returns the id (unique per call). */
  async script(steps: RawTcpStep[], when?: "head" | "body"): Promise<string> {
    return this.register({ steps, when });
  }

  /** Registers one script per request, in order (the last one repeats). */
  async sequence(...scripts: RawTcpScript[]): Promise<string> {
    return this.register({ sequence: scripts });
  }

  async register(set: RawTcpScriptSet): Promise<string> {
    const id = `s${crypto.randomUUID().replaceAll("-", "")}`;
    const res = await fetch(`${this.#base}/scripts/${id}`, {
      method: "PUT",
      body: JSON.stringify(set),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`mock control answered ${res.status}`);
    return id;
  }

  async received(id: string): Promise<ReceivedRecord> {
    const res = await fetch(`${this.#base}/received/${id}`);
    return (await res.json()) as ReceivedRecord;
  }

  url(id: string, rest = "/"): string {
    return `http://127.0.0.1:${this.mainPort}/${id}${rest}`;
  }
}

/** Base64 of latin1 text, for `{ write }` steps built from strings. */
export function b64(text: string): string {
  return btoa(text);
}

/**
 * Gemini Live API message logic for transparent session resumption, pure (no I/O, no clock).
 *
 * The Live API (BidiGenerateContent over WebSocket) sends `sessionResumptionUpdate { newHandle,
 * resumable, lastConsumedClientMessageIndex }` when the client's `setup` enabled
 * `sessionResumption`, and `goAway { timeLeft }` before it ends a connection. A new connection whose
 * `setup.sessionResumption.handle` carries the latest handle continues the same session. This module
 * decides what the relay does with each message; `RelaySession` does the I/O.
 *
 * Index semantics (documented by Google only as "index of last message sent by client that is
 * included in state"): we number the client messages of each upstream connection from 0 with the
 * `setup` as message 0. If the server actually excludes the setup from its count, this makes us
 * replay one message the server already had (a duplicate) rather than drop one (a loss), which is the
 * safer mistake. Without an index (non-transparent mode) every message sent after the latest
 * resumable update arrived is treated as unconsumed, as Google's docs suggest clients do.
 */

export type LiveFrame = { kind: "text"; data: string } | { kind: "binary"; data: Uint8Array };

/** Bound on client messages kept for replay (bytes); beyond it resumption would lose data, so it is disabled. */
export const DEFAULT_MAX_REPLAY_BYTES = 8 * 1024 * 1024;

type Json = Record<string, unknown>;

/** Upper bound of a frame's size (a UTF-16 code unit is at most 3 UTF-8 bytes); only used for the bound. */
function frameBytes(frame: LiveFrame): number {
  return frame.kind === "text" ? frame.data.length * 3 : frame.data.length;
}

/** Parses a Live API message (the server sends JSON in binary frames, clients usually in text). */
export function parseLiveMessage(frame: LiveFrame): Json | null {
  try {
    const text =
      frame.kind === "text"
        ? frame.data
        : new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(frame.data);
    if (!text.startsWith("{") && !text.trimStart().startsWith("{")) return null;
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

function field(obj: Json, camel: string, snake: string): unknown {
  return obj[camel] ?? obj[snake];
}

function asObject(value: unknown): Json | null {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null;
}

/** The index may arrive as a number or, being an int64 in proto JSON, as a decimal string. */
function asIndex(value: unknown): number | null {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^\d{1,15}$/.test(value)) return Number(value);
  return null;
}

export interface ResumptionUpdate {
  handle: string | null;
  resumable: boolean;
  lastConsumedIndex: number | null;
}

/** Classifies a server message. */
export function classifyServerMessage(
  msg: Json | null,
):
  | { type: "setupComplete" }
  | { type: "goAway" }
  | { type: "resumption"; update: ResumptionUpdate }
  | { type: "other" } {
  if (msg === null) return { type: "other" };
  if (field(msg, "setupComplete", "setup_complete") !== undefined) return { type: "setupComplete" };
  if (field(msg, "goAway", "go_away") !== undefined) return { type: "goAway" };
  const update = asObject(field(msg, "sessionResumptionUpdate", "session_resumption_update"));
  if (update) {
    const handle = field(update, "newHandle", "new_handle");
    return {
      type: "resumption",
      update: {
        handle: typeof handle === "string" && handle !== "" ? handle : null,
        resumable: update.resumable === true,
        lastConsumedIndex: asIndex(
          field(update, "lastConsumedClientMessageIndex", "last_consumed_client_message_index"),
        ),
      },
    };
  }
  return { type: "other" };
}

/** Returns the setup message with `sessionResumption.handle` set, in the same frame kind and key style. */
export function rewriteSetupWithHandle(setup: LiveFrame, handle: string): LiveFrame {
  const msg = parseLiveMessage(setup);
  const body = msg ? asObject(msg.setup) : null;
  if (!msg || !body) throw new TypeError("not a Live API setup message");
  const key =
    "session_resumption" in body && !("sessionResumption" in body)
      ? "session_resumption"
      : "sessionResumption";
  const config = asObject(body[key]) ?? {};
  const rewritten = JSON.stringify({ ...msg, setup: { ...body, [key]: { ...config, handle } } });
  return setup.kind === "text"
    ? { kind: "text", data: rewritten }
    : { kind: "binary", data: new TextEncoder().encode(rewritten) };
}

export function isSetupMessage(frame: LiveFrame): boolean {
  const msg = parseLiveMessage(frame);
  return msg !== null && asObject(msg.setup) !== null;
}

interface SentMessage {
  index: number;
  frame: LiveFrame;
  bytes: number;
}

/**
 * Tracks one logical Live session across upstream connections. Call `clientMessage` for every client
 * message, `serverMessage` for every upstream message, `startResume` when a new upstream connection
 * is ready, and `finishResume` when it answered `setupComplete`.
 */
export class LiveResumption {
  readonly #maxReplayBytes: number;
  #setup: LiveFrame | null = null;
  #handle: string | null = null;
  /** Client messages sent on the current upstream connection and not yet known to be consumed. */
  #sent: SentMessage[] = [];
  #sentBytes = 0;
  /** Index the next client message gets on the current connection (the setup is 0). */
  #nextIndex = 0;
  /** Client messages that arrived while a resumption was in progress. */
  #pending: LiveFrame[] = [];
  #pendingBytes = 0;
  #resuming = false;
  #hideSetupComplete = false;
  /** A message that was never known consumed had to be dropped from the replay buffer. */
  #replayLost = false;
  /** Highest index dropped from the replay buffer: an update consuming it makes the session whole again. */
  #lostUpTo = -1;
  #resumptions = 0;

  constructor(opts: { maxReplayBytes?: number } = {}) {
    this.#maxReplayBytes = opts.maxReplayBytes ?? DEFAULT_MAX_REPLAY_BYTES;
  }

  /** The latest resumable handle, or null. */
  get handle(): string | null {
    return this.#handle;
  }

  get resuming(): boolean {
    return this.#resuming;
  }

  get resumptions(): number {
    return this.#resumptions;
  }

  /** True when a reconnect can continue the session without losing client messages. */
  get canResume(): boolean {
    return this.#setup !== null && this.#handle !== null && !this.#replayLost;
  }

  /** Bytes held for replay (bounded by maxReplayBytes). */
  get bufferedBytes(): number {
    return this.#sentBytes + this.#pendingBytes;
  }

  /** A client message: `send` it upstream now, or `queue` (a resumption is in progress; it is held here). */
  clientMessage(frame: LiveFrame): "send" | "queue" {
    if (this.#setup === null && this.#nextIndex === 0 && isSetupMessage(frame)) {
      this.#setup = frame;
      this.#nextIndex = 1;
      return "send";
    }
    const bytes = frameBytes(frame);
    if (this.#resuming) {
      this.#pending.push(frame);
      this.#pendingBytes += bytes;
      this.#enforceBound();
      return "queue";
    }
    this.#sent.push({ index: this.#nextIndex++, frame, bytes });
    this.#sentBytes += bytes;
    this.#enforceBound();
    return "send";
  }

  /** An upstream message: whether to deliver it to the client, and whether it announced the end of the connection. */
  serverMessage(frame: LiveFrame): { deliver: boolean; goAway: boolean; setupComplete: boolean } {
    const kind = classifyServerMessage(parseLiveMessage(frame));
    switch (kind.type) {
      case "setupComplete": {
        // The resumed connection's setupComplete would look like a second session to the client.
        const deliver = !this.#hideSetupComplete;
        this.#hideSetupComplete = false;
        return { deliver, goAway: false, setupComplete: true };
      }
      case "goAway":
        // Handled transparently when we can resume; otherwise the client must know the session ends.
        return { deliver: !this.canResume, goAway: true, setupComplete: false };
      case "resumption":
        this.#applyUpdate(kind.update);
        return { deliver: true, goAway: false, setupComplete: false };
      default:
        return { deliver: true, goAway: false, setupComplete: false };
    }
  }

  /**
   * A new upstream connection is open: returns the setup to send on it (with the latest handle). From
   * now on client messages are queued until `finishResume`; messages from the old connection must no
   * longer be passed to `serverMessage`.
   */
  startResume(): LiveFrame {
    if (!this.canResume || this.#setup === null || this.#handle === null) {
      throw new Error("session is not resumable");
    }
    this.#resuming = true;
    this.#hideSetupComplete = true;
    return rewriteSetupWithHandle(this.#setup, this.#handle);
  }

  /** Stops forwarding client messages (queue them) ahead of a reconnect, e.g. right after `goAway`. */
  pause(): void {
    this.#resuming = true;
  }

  /** The new connection answered `setupComplete`: returns, in order, the client messages to send on it. */
  finishResume(): LiveFrame[] {
    const replay = [...this.#sent.map((s) => s.frame), ...this.#pending];
    this.#sent = [];
    this.#sentBytes = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#nextIndex = 1;
    this.#resuming = false;
    this.#resumptions++;
    for (const frame of replay) {
      const bytes = frameBytes(frame);
      this.#sent.push({ index: this.#nextIndex++, frame, bytes });
      this.#sentBytes += bytes;
    }
    return replay;
  }

  #applyUpdate(update: ResumptionUpdate): void {
    // A non-resumable update (model mid-generation or mid-tool-call) keeps the previous handle: it
    // is the latest state that can be resumed, and the messages since then stay buffered.
    if (!update.resumable || update.handle === null) return;
    this.#handle = update.handle;
    const consumed = update.lastConsumedIndex;
    const keep = consumed === null ? [] : this.#sent.filter((s) => s.index > consumed);
    this.#sent = keep;
    this.#sentBytes = keep.reduce((n, s) => n + s.bytes, 0);
    const recovered = consumed === null || consumed >= this.#lostUpTo;
    if (recovered && this.#sentBytes + this.#pendingBytes <= this.#maxReplayBytes) {
      this.#replayLost = false;
      this.#lostUpTo = -1;
    }
  }

  #enforceBound(): void {
    while (this.#sentBytes + this.#pendingBytes > this.#maxReplayBytes && this.#sent.length > 0) {
      const dropped = this.#sent.shift()!;
      this.#sentBytes -= dropped.bytes;
      this.#lostUpTo = Math.max(this.#lostUpTo, dropped.index);
      this.#replayLost = true;
    }
    if (this.#sentBytes + this.#pendingBytes > this.#maxReplayBytes) this.#replayLost = true;
  }
}

/**
 * The fast start of a protected Gemini stream (issue 13): the Worker makes the first attempt itself and serves the
 * client from it at once, with a `ContinuationEngine` of its own over that attempt only and the client encoder the
 * session object uses (`clientBody`). The session object is fed off the critical path (`/adopt`, `gemini-adopt.ts`):
 * the bytes the Worker's engine read, in order, ended when that engine stopped reading, so the object's engine reaches
 * the same events and keeps the log, the counters, re-attach and every later attempt. When a continuation is needed
 * (the Worker's engine asks for a second attempt) the Worker stops its engine and carries the client's body on from
 * the object's log (`/events`, `gemini-handover.ts`), checked by a digest of the events it already delivered.
 */
import type { EncodedRequest } from "../../gemini/continuation-bytes";
import { ENCODED_CONTINUATION_KIT } from "../../gemini/continuation-bytes";
import { ContinuationEngine } from "../../gemini/engine";
import type { ContinuationKit, RunAttempt } from "../../gemini/engine-types";
import { drain } from "../../stream/drain";
import type { HealthViews } from "../health/health-snapshot";
import { startErrorOf } from "../session-errors";
import { sessionClock } from "../session-lifecycle";
import { AdoptFeed } from "./gemini-adopt";
import { CONTENT_TYPES, clientBody } from "./gemini-client-stream";
import { abortedChunk } from "./gemini-event-log";
import { MemoryEventLog } from "./gemini-handover";
import { SESSION_ID_HEADER, type SessionStart } from "./gemini-session";
import { geminiUpstream } from "./gemini-upstream";
import { EventDigest, LineReader } from "./handover-lines";

const SESSION_URL = "https://gemini-session";

type Head = { kind: "stream" } | { kind: "error"; status: number; headers: Headers; body: string };

/** What the Worker's engine holds as "the request": it only ever sends the first attempt, made from the real one. */
const NO_REQUEST = { pieces: [], byteLength: 0 } as unknown as EncodedRequest;
/** The Worker's engine asks for a continuation or restart body only to hand it over: it never builds one. */
const HANDOVER_KIT: ContinuationKit<EncodedRequest> = {
  buildContinuation: (original) => original,
  buildRestart: (original) => original,
  createAligner: (sent) => ENCODED_CONTINUATION_KIT.createAligner(sent),
};

/** Raised inside the Worker's engine when it asks for a second attempt: the object takes over from here. */
class HandedOverError extends Error {}

/** The request, indexed (`request`) from its bytes (`bytes`, what the object is fed); emptied by `fastStart`. */
export interface HeldRequest {
  request: EncodedRequest | null;
  bytes: Uint8Array | null;
}

/**
 * Starts a protected stream whose request is `request` (indexed from `bytes`, the bytes the object is fed). Resolves
 * with the client's response once the first event (or the HTTP error) is known, as the session object did.
 */
export async function fastStart(
  env: Env,
  ctx: ExecutionContext,
  clientSignal: AbortSignal,
  start: SessionStart,
  held: HeldRequest,
  views?: HealthViews,
): Promise<Response> {
  // Taken out of `held` so that nothing here keeps the request alive once it was sent and fed (a 24 MiB prompt
  // must not stay in the Worker for the whole first attempt).
  let request: EncodedRequest | null = held.request;
  const bytes = held.bytes;
  held.request = null;
  held.bytes = null;
  const id = env.GEMINI_SESSION.newUniqueId();
  const stub = env.GEMINI_SESSION.get(id);
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  const startedAt = Date.now();
  const feed = new AdoptFeed({ ...start, startedAt }, bytes as Uint8Array);
  /** Aborted once the object stopped reading the first attempt (its engine gave up): the upstream goes too. */
  const objectDone = new AbortController();
  // The object's start (creation, reading the request, storage) is CPU the isolate spends (locally the object even
  // shares the Worker's thread): it begins in the macrotask after the client's head is handed to the runtime, which
  // by then is writing the head and the first event; the feed buffers until then. Measured: started with the upstream
  // call, or right at the head, it put 8–14 ms of its own work before the first event (bench/ab-first-event.mjs).
  // Idempotent: also started by a client that leaves, a hand-over, an error head.
  let adopting = false;
  const startAdopt = () => {
    if (adopting) return;
    adopting = true;
    waitUntil(adopt());
  };
  const adopt = () =>
    stub
      .fetch(`${SESSION_URL}/adopt`, { method: "POST", body: feed.body, headers: feed.headers })
      .then(async (res) => {
        await res.body?.cancel();
        if (res.status === 204) objectDone.abort();
        else feed.dead = true;
      })
      .catch(() => {
        feed.dead = true;
      });

  const log = new MemoryEventLog();
  const digest = new EventDigest();
  let resolveHead: (h: Head) => void = () => {};
  const head = new Promise<Head>((r) => {
    resolveHead = r;
  });
  let clientGone = false;
  let handoverBody: ReadableStream<Uint8Array> | null = null;
  const leave = () => {
    if (clientGone) return;
    clientGone = true;
    startAdopt();
    resolveHead({ kind: "error", ...startErrorOf(null, "gemini") });
    // Before the hand-over the object counts the Worker's client as attached: tell it (its grace period starts).
    if (handoverBody === null) {
      waitUntil(stub.fetch(`${SESSION_URL}/detach`, { method: "POST" }).then((r) => r.body?.cancel()));
    } else handoverBody.cancel().catch(() => {});
  };
  if (clientSignal.aborted) leave();
  else clientSignal.addEventListener("abort", leave, { once: true });

  const engineStop = new AbortController();
  let handedOver = false;
  const upstream = geminiUpstream({
    start,
    env,
    waitUntil,
    ...(views ? { views } : {}),
  });
  let attempts = 0;
  const runAttempt: RunAttempt<EncodedRequest> = (_standIn, signal) => {
    attempts++;
    if (attempts === 1) {
      const first = request;
      request = null;
      if (first === null) throw new Error("the first attempt was already made");
      return firstAttempt(upstream, first, signal, feed, objectDone.signal);
    }
    handedOver = true;
    engineStop.abort();
    return Promise.reject(new HandedOverError("continued by the session object"));
  };
  const engine = new ContinuationEngine<EncodedRequest>({
    // The engine is handed an empty stand-in: the request's bytes are the first attempt's alone (and released once
    // sent), and a kit that never builds a continuation body (the object builds the one it sends).
    request: NO_REQUEST,
    runAttempt,
    kit: HANDOVER_KIT,
    prompts: start.prompts,
    clock: sessionClock,
    bounds: start.bounds,
    signal: engineStop.signal,
  });

  const run = async () => {
    const summary = await drain(engine.run(), (ev) => {
      if (ev.type === "chunk") {
        log.append(ev.chunk);
        digest.add(ev.chunk);
        resolveHead({ kind: "stream" });
      } else resolveHead({ kind: "error", ...startErrorOf(ev, "gemini") });
    });
    if (!handedOver) {
      log.finish({ result: summary.result });
      resolveHead({ kind: "error", ...startErrorOf(null, "gemini") });
      return;
    }
    if (clientGone) return;
    startAdopt();
    const from = digest.count;
    const query = from === 0 ? "from=0" : `from=${from}&digest=${encodeURIComponent(digest.value)}`;
    const res = await stub.fetch(`${SESSION_URL}/events?${query}`);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      return handoverFailed(`the session object answered ${res.status}`);
    }
    handoverBody = res.body;
    if (clientGone) return void res.body.cancel().catch(() => {});
    const lines = new LineReader();
    const reader = res.body.getReader();
    for (;;) {
      const step = await reader.read();
      if (step.done) break;
      for (const line of lines.push(step.value)) {
        if ("e" in line) {
          log.append(line.e);
          resolveHead({ kind: "stream" });
        } else if ("end" in line) {
          log.finish(line.end);
        } else {
          const { status, headers, body } = line.http_error;
          resolveHead({ kind: "error", status, headers: new Headers(headers), body });
          log.finish({ result: "http_error" });
        }
      }
    }
    if (log.end === null) handoverFailed("the session's stream ended early");
  };
  const handoverFailed = (why: string) => {
    console.error(JSON.stringify({ msg: "gemini_handover_failed", why }));
    if (log.length > 0) log.append(abortedChunk(why));
    log.finish({ result: "failed" });
    resolveHead({ kind: "error", ...startErrorOf(null, "gemini") });
  };
  waitUntil(
    run().catch((err: unknown) => {
      if (!clientGone) handoverFailed(`the hand-over failed: ${String(err)}`);
    }),
  );

  const outcome = await head;
  if (outcome.kind === "error") {
    startAdopt();
    return new Response(outcome.body, { status: outcome.status, headers: outcome.headers });
  }
  const body = clientBody(log, {
    format: start.format,
    from: 0,
    ...(start.openai ? { openai: start.openai } : {}),
    onCancel: leave,
    onDone: () => {},
  });
  setTimeout(startAdopt, 0);
  const headers = new Headers({
    "content-type": CONTENT_TYPES[start.format],
    "cache-control": "no-cache",
    [SESSION_ID_HEADER]: id.toString(),
  });
  return new Response(body, { status: 200, headers });
}

/**
 * The Worker's first attempt: the upstream call, its response handed to the Worker's engine with every byte that
 * engine reads also written to the feed first (so the object never has less than the client got). The head is fed
 * once the engine takes the response (or how the call failed: a first-byte timeout is the engine's abort).
 */
async function firstAttempt(
  upstream: RunAttempt<EncodedRequest>,
  body: EncodedRequest,
  signal: AbortSignal,
  feed: AdoptFeed,
  objectDone: AbortSignal,
): Promise<Response> {
  const timedOut = () => {
    feed.head({ thrown: "timeout", message: "first byte timeout" });
    feed.close();
  };
  signal.addEventListener("abort", timedOut, { once: true });
  let response: Response;
  try {
    response = await upstream(body, AbortSignal.any([signal, objectDone]));
  } catch (error) {
    feed.head({ thrown: signal.aborted ? "timeout" : "error", message: "the upstream call failed" });
    feed.close();
    throw error;
  } finally {
    signal.removeEventListener("abort", timedOut);
  }
  if (signal.aborted) {
    await response.body?.cancel().catch(() => {});
    throw new Error("first byte timeout");
  }
  const head = { status: response.status, headers: [...response.headers] as [string, string][] };
  const source = response.body;
  if (source === null) {
    feed.head(head);
    feed.close();
    return response;
  }
  const reader = source.getReader();
  const stop = () => {
    feed.close();
    reader.cancel().catch(() => {});
  };
  if (objectDone.aborted) stop();
  else objectDone.addEventListener("abort", stop, { once: true });
  const fed = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        feed.head(head);
        try {
          const step = await reader.read();
          if (step.done) {
            feed.close();
            controller.close();
          } else {
            feed.write(step.value);
            controller.enqueue(step.value);
          }
        } catch (error) {
          // The object reads a clean end where this engine read a failure: both are a cut without a finish
          // reason (or decided by the finish reason already read), so both engines reach the same outcome.
          feed.close();
          controller.error(error);
        }
      },
      cancel(reason) {
        feed.head(head);
        feed.close();
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(fed, { status: response.status, headers: response.headers });
}

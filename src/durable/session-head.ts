/**
 * Framing between the Worker and a starting `GeminiSession`. The object answers `/start` at once with a stream whose
 * first line is the client response's head (`{"status":…,"headers":[…]}\n`), followed by the client body. Answering
 * at once matters: a client that leaves before the first upstream byte then cancels a body the object is already
 * serving, which starts the grace period (a fetch abandoned before its response would go unnoticed by the object).
 * The Worker strips the head line and answers with that status and headers.
 */
export interface ResponseHead {
  status: number;
  headers: [string, string][];
}

const encoder = new TextEncoder();
const NEWLINE = 10;

/** The head line (JSON never contains a raw newline). */
export function encodeHead(head: ResponseHead): Uint8Array {
  return encoder.encode(`${JSON.stringify(head)}\n`);
}

/**
 * Reads the head line from a framed body and returns the client response; its body is the rest of the stream, and
 * cancelling it cancels the framed stream (so the object sees the client leave).
 */
export async function unframeResponse(
  framed: ReadableStream<Uint8Array>,
  maxHeadBytes = 64 * 1024,
): Promise<Response> {
  const reader = framed.getReader();
  let buffered = new Uint8Array(0);
  for (;;) {
    const nl = buffered.indexOf(NEWLINE);
    if (nl >= 0) {
      const head = JSON.parse(new TextDecoder().decode(buffered.subarray(0, nl))) as ResponseHead;
      const rest = buffered.subarray(nl + 1);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (rest.length > 0) controller.enqueue(rest);
        },
        async pull(controller) {
          const step = await reader.read();
          if (step.done) controller.close();
          else controller.enqueue(step.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
      return new Response(body, { status: head.status, headers: head.headers });
    }
    if (buffered.length > maxHeadBytes) throw new Error("session response head too large");
    const step = await reader.read();
    if (step.done) throw new Error("session ended before its response head");
    const next = new Uint8Array(buffered.length + step.value.length);
    next.set(buffered);
    next.set(step.value, buffered.length);
    buffered = next;
  }
}

/** How a starting session answers once its first event is known: an HTTP error, or the client stream. */
export type FirstAnswer =
  | { kind: "error"; status: number; headers: Headers; body: string }
  | { kind: "client"; response: Response };

/**
 * The framed `/start` answer both session objects serve: the head line waits for `first` (the engine's first event,
 * `null` if it produced none), which `answer` turns into an HTTP error or the client stream. The starting client is
 * already attached (`detach` undoes that once), so leaving before the head still starts the grace period.
 */
export function framedStart<E>(
  first: Promise<E | null>,
  detach: () => void,
  answer: (ev: E | null) => FirstAnswer,
): Response {
  let inner: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const framed = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        if (inner === null) {
          const outcome = answer(await first);
          if (outcome.kind === "error") {
            controller.enqueue(encodeHead({ status: outcome.status, headers: [...outcome.headers] }));
            controller.enqueue(encoder.encode(outcome.body));
            controller.close();
            detach();
            return;
          }
          const client = outcome.response;
          inner = (client.body as ReadableStream<Uint8Array>).getReader();
          controller.enqueue(encodeHead({ status: client.status, headers: [...client.headers] }));
          return;
        }
        const step = await inner.read();
        if (step.done) controller.close();
        else controller.enqueue(step.value);
      } catch (err) {
        detach();
        // Either the client went away while we waited (the controller is closed and this throws too) or the
        // client body failed: then the Worker must see a broken body, not a pull that never enqueues again.
        try {
          controller.error(err);
        } catch {}
      }
    },
    cancel: (reason) => {
      detach();
      return inner?.cancel(reason);
    },
  });
  return new Response(framed, { status: 200, headers: { "content-type": "application/octet-stream" } });
}

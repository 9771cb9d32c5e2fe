/**
 * Idle watchdog for a streamed body. A total timeout would cut long LLM generations; what signals a
 * dead upstream is silence between reads, so the timer restarts on every chunk.
 */
import { largeChunkReader } from "./byte-reader";
import { UpstreamTimeoutError } from "./errors";
import { raceTimeout } from "./timeouts";

/**
 * Wraps `source` in a pull-based stream (so backpressure from the client still reaches the upstream)
 * that errors with `UpstreamTimeoutError("idle")` when one read waits longer than `idleTimeoutMs`.
 * `onIdle` runs before the error, to abort the upstream connection.
 */
export function watchIdle(
  source: ReadableStream<Uint8Array>,
  idleTimeoutMs: number,
  onIdle: () => void,
): ReadableStream<Uint8Array> {
  const reader = largeChunkReader(source);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await raceTimeout(
            reader.read(),
            idleTimeoutMs,
            () => new UpstreamTimeoutError("idle", idleTimeoutMs, "after_response"),
            onIdle,
          );
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          reader.cancel(error).catch(() => {});
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Idle watchdog for a streamed body. A total timeout would cut long LLM generations; what signals a
 * dead upstream is silence between reads, so the timer restarts on every chunk.
 */
import { largeChunkReader } from "./byte-reader";
import { UpstreamTimeoutError } from "./errors";
import { Watchdog } from "./watchdog";

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
  // One watchdog for the whole body rather than a timer per read (`watchdog.ts`).
  const dog = new Watchdog<"idle">(({ ms }) => {
    onIdle();
    return new UpstreamTimeoutError("idle", ms, "after_response");
  });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await dog.watch(reader.read(), "idle", idleTimeoutMs);
          if (done) {
            dog.stop();
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          dog.stop();
          controller.error(error);
          reader.cancel(error).catch(() => {});
        }
      },
      cancel(reason) {
        dog.stop();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

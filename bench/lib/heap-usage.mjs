/**
 * The V8 side of a workerd process's memory, read over its inspector (`workerd serve --inspector-addr`, Chrome DevTools
 * protocol): `Runtime.getHeapUsage` gives the JS heap (`totalSize`) and the bytes held by ArrayBuffers
 * (`backingStorageSize`), so RSS growth can be split into what JavaScript holds and what the runtime holds natively.
 * The inspector answers between JavaScript tasks only, so samples are sparse while the isolate is busy.
 */
import { connectInspector } from "./inspector.mjs";

/** Connects to the gateway's inspector target; `usage()` resolves with `Runtime.getHeapUsage`. */
export async function heapInspector(port) {
  const client = await connectInspector(port);
  return {
    usage: () => client.send("Runtime.getHeapUsage"),
    collectGarbage: () => client.send("HeapProfiler.collectGarbage"),
    close: () => client.close(),
  };
}

/** Polls heap usage until `stop()`; `stop()` resolves with the peaks of the JS heap and of ArrayBuffer bytes. */
export function heapPeaks(inspector) {
  let running = true;
  let heap = 0;
  let buffers = 0;
  const loop = (async () => {
    while (running) {
      const u = await inspector.usage();
      heap = Math.max(heap, u.totalSize);
      buffers = Math.max(buffers, u.backingStorageSize ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { heap, buffers };
    },
  };
}

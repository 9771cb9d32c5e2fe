/**
 * The V8 side of a workerd process's memory, read over its inspector (`workerd serve --inspector-addr`, Chrome DevTools
 * protocol): `Runtime.getHeapUsage` gives the JS heap (`totalSize`) and the bytes held by ArrayBuffers
 * (`backingStorageSize`), so RSS growth can be split into what JavaScript holds and what the runtime holds natively.
 * The inspector answers between JavaScript tasks only, so samples are sparse while the isolate is busy.
 */
import { WebSocket } from "ws";

/** Connects to the gateway's inspector target; `usage()` resolves with `Runtime.getHeapUsage`. */
export async function heapInspector(port) {
  let targets = [];
  for (let i = 0; i < 50 && targets.length === 0; i++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const target = targets.find((t) => /gateway/.test(`${t.title} ${t.url} ${t.id}`)) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let nextId = 1;
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    const pending = waiting.get(msg.id);
    if (!pending) return;
    waiting.delete(msg.id);
    if (msg.error) pending.reject(new Error(msg.error.message));
    else pending.resolve(msg.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    usage: () => send("Runtime.getHeapUsage"),
    collectGarbage: () => send("HeapProfiler.collectGarbage"),
    close: () => ws.close(),
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

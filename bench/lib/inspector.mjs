/**
 * A small Chrome DevTools protocol client for a workerd process's inspector (`workerd serve --inspector-addr`):
 * finds the gateway's target, opens its WebSocket and matches answers to requests by id. Used by the CPU profiler
 * (bench/profile.mjs) and the heap sampler (bench/lib/heap-usage.mjs).
 */
import { WebSocket } from "ws";

const TARGET_POLLS = 50;
const TARGET_POLL_INTERVAL_MS = 100;

/** Connects to the inspector on `port`; resolves with `{ title, send(method, params), close() }`. */
export async function connectInspector(port) {
  let targets = [];
  for (let i = 0; i < TARGET_POLLS && targets.length === 0; i++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch {
      await new Promise((r) => setTimeout(r, TARGET_POLL_INTERVAL_MS));
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
  return {
    title: target.title ?? target.id,
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Soak: WebSocket sessions through the gateway's relay to the chaos WebSocket server. Each session
 * (fixed by the seed) sends text and binary messages one at a time and checks every echo byte for
 * byte, then ends one of four ways: the upstream closes with a code (the client must see that code
 * and reason), the upstream's TCP connection is reset (the client must see an error close, never a
 * clean 1000), or the client closes with a code (the upstream must see it, checked afterwards).
 */
import { WebSocket } from "ws";
import { itemSeed, randomInt, seededRandom, weightedPick } from "./stats.mjs";

const SESSION_DEADLINE_MS = 30_000;
const TEXTS = ["hello", "数据流", "🙂🙂", "naïve", '{"type":"ping"}', "x"];

export function planWs(random, i) {
  const messages = [];
  const n = randomInt(random, 3, 30);
  for (let k = 0; k < n; k++) {
    if (random() < 0.3) {
      const size = weightedPick(random, [
        [8, randomInt(random, 0, 512)],
        [2, randomInt(random, 512, 64 * 1024)],
        [1, randomInt(random, 64 * 1024, 256 * 1024)],
      ]);
      const buf = Buffer.alloc(size);
      for (let b = 0; b < size; b++) buf[b] = (b * 7 + k) & 0xff;
      messages.push(buf);
    } else {
      messages.push(TEXTS[randomInt(random, 0, TEXTS.length - 1)].repeat(randomInt(random, 1, 200)));
    }
  }
  const end = weightedPick(random, [
    [4, `close:${randomInt(random, 4000, 4999)}`],
    [2, "close:1000"],
    [2, "reset"],
    [2, "client"],
  ]);
  return { id: `w${i}`, messages, end, clientCode: randomInt(random, 4000, 4999) };
}

const same = (a, b) => (typeof a === "string" ? a === b : Buffer.isBuffer(b) && Buffer.compare(a, b) === 0);

/** Runs one planned session; resolves with `{ outcome, detail? }`. */
export function runWs(baseUrl, plan) {
  const url = `${baseUrl}/s/${plan.id}?n=${plan.messages.length}&end=${plan.end}`;
  return new Promise((resolve) => {
    let settled = false;
    let next = 0;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const deadline = setTimeout(() => {
      ws.terminate();
      done({
        outcome: "violation",
        detail: `session ${plan.id} did not end within ${SESSION_DEADLINE_MS} ms`,
      });
    }, SESSION_DEADLINE_MS);
    const sendNext = () => {
      const m = plan.messages[next];
      ws.send(m, { binary: Buffer.isBuffer(m) });
    };
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () => {
        let json = false;
        try {
          json =
            typeof JSON.parse(text).error?.message === "string" && res.headers["x-proxy-error"] !== undefined;
        } catch {}
        done(
          json
            ? { outcome: "refused_with_error_json" }
            : { outcome: "violation", detail: `upgrade answered ${res.statusCode}: ${text.slice(0, 160)}` },
        );
      });
    });
    ws.on("open", sendNext);
    ws.on("message", (data, isBinary) => {
      const expected = plan.messages[next];
      const got = isBinary ? data : data.toString("utf8");
      if (!same(expected, got) || Buffer.isBuffer(expected) !== isBinary) {
        ws.terminate();
        return done({ outcome: "violation", detail: `message ${next} of ${plan.id} came back different` });
      }
      next++;
      if (next < plan.messages.length) sendNext();
      else if (plan.end === "client") ws.close(plan.clientCode, `client ${plan.id}`);
    });
    ws.on("error", () => {});
    ws.on("close", (code, reasonBuf) => {
      const reason = reasonBuf.toString("utf8");
      if (next < plan.messages.length) {
        return done({
          outcome: "violation",
          detail: `closed (${code}) after ${next}/${plan.messages.length} echoes`,
        });
      }
      if (plan.end.startsWith("close:")) {
        const want = Number(plan.end.slice(6));
        return done(
          code === want && reason === `soak ${plan.id}`
            ? { outcome: "closed_by_upstream" }
            : {
                outcome: "violation",
                detail: `upstream closed ${want} "soak ${plan.id}", client saw ${code} "${reason}"`,
              },
        );
      }
      if (plan.end === "reset") {
        return done(
          code !== 1000
            ? { outcome: "reset_visible", code }
            : { outcome: "violation", detail: "upstream reset, client saw a clean 1000 close" },
        );
      }
      done({ outcome: "closed_by_client" });
    });
  });
}

/** Keeps `concurrency` sessions open until `until`. */
export async function wsLoad({ baseUrl, concurrency, until, seed, results }) {
  let next = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const i = next++;
      const plan = planWs(seededRandom(itemSeed(seed, "ws", i)), i);
      const started = Date.now();
      const result = await runWs(baseUrl, plan);
      results.push({ id: plan.id, end: plan.end, clientCode: plan.clientCode, started, ...result });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Client-initiated closes must reach the upstream with the client's code. */
export function checkClientCloses(results, wsLog) {
  const bad = [];
  for (const r of results) {
    if (r.outcome !== "closed_by_client") continue;
    const seen = wsLog[r.id];
    if (!seen || seen.closeCode !== r.clientCode)
      bad.push({ id: r.id, sent: r.clientCode, upstreamSaw: seen?.closeCode ?? null });
  }
  return bad;
}

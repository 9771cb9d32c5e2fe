/**
 * A scriptable OpenAI- and Anthropic-style streaming upstream for the stream guard tests (issue 12), over
 * `scripted-targets.ts` (control API, scenarios, observations).
 *
 * Two targets (`sse-llm.a`, `sse-llm.b` in `mockPorts`) play scripts (`SseScript`). A script says, step by step,
 * what a target writes and how it ends: cleanly, cut (FIN mid-body), reset (RST) or stalled (see
 * `sse-llm-script.ts`). A target without a script answers 500.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RunningMock } from "./global-setup";
import { startScriptedTargets, type TargetRequest } from "./scripted-targets";
import { type Play, SSE_TARGETS, type SseObservation } from "./sse-llm-script";

async function play(res: ServerResponse, req: IncomingMessage, script: Play): Promise<void> {
  res.writeHead(script.status ?? 200, script.headers ?? {});
  res.flushHeaders();
  for (const step of script.steps) {
    if (res.destroyed) return;
    if ("write" in step) res.write(step.write);
    else if ("hex" in step) res.write(Buffer.from(step.hex, "hex"));
    else if ("delayMs" in step) await new Promise((r) => setTimeout(r, step.delayMs));
    else if ("end" in step) {
      res.end();
      return;
    } else if ("destroy" in step) {
      res.socket?.destroy();
      return;
    } else if ("reset" in step) {
      res.socket?.resetAndDestroy();
      return;
    } else if ("stall" in step) {
      await new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
      return;
    }
  }
  res.end();
}

async function answer({
  name,
  scenario,
  path,
  body,
  next,
  observation: obs,
  req,
  res,
}: TargetRequest<Play, SseObservation>): Promise<void> {
  obs.requests += 1;
  if (obs.bodies.length < 20) obs.bodies.push(body.toString("utf8"));
  if (obs.paths.length < 20) obs.paths.push(path);
  if (!next) {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `no script for ${scenario}/${name}` } }));
    return;
  }
  await play(res, req, next);
}

export function start(): Promise<RunningMock> {
  return startScriptedTargets<Play, SseObservation>({
    names: SSE_TARGETS,
    newObservation: () => ({ requests: 0, bodies: [], paths: [] }),
    answer,
  });
}

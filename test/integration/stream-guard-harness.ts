/**
 * Shared pieces of the `stream-guard*` integration tests: scripting the SSE LLM mock, endpoints that
 * point at its targets, calls through the real Worker entry point, and the target health the gateway
 * reports for them.
 */
import { settleHealthReports } from "../../src/durable/health/health-snapshot";
import type { TransportKind } from "../../src/transport/endpoint";
import type { SseObservation, SseScript } from "../mocks/sse-llm-script";
import { callGateway, mockPort, putMockScript, uniqueScenario } from "./gateway";

/** A scenario id unique within this run; also the endpoint's name, so its health starts fresh. */
export const scenarioId = (label: string): string => uniqueScenario("sg", label);

const control = () => `http://127.0.0.1:${mockPort("sse-llm")}`;

export function targetUrl(target: "a" | "b", scenario: string): string {
  return `http://127.0.0.1:${mockPort(`sse-llm.${target}`)}/${scenario}`;
}

export async function script(scenario: string, target: "a" | "b", value: SseScript): Promise<void> {
  await putMockScript(`${control()}/script/${scenario}/${target}`, value);
}

export async function observed(scenario: string): Promise<Record<string, SseObservation>> {
  return (await (await fetch(`${control()}/observed/${scenario}`)).json()) as Record<string, SseObservation>;
}

export interface GuardSetup {
  scenario: string;
  transport: TransportKind;
  /** Targets in order; the first one is picked first (overwhelming weight). */
  targets?: ("a" | "b")[];
  streamGuard?: Record<string, number>;
  /** Health policy overrides of the endpoint (e.g. a small `replayBodyLimitBytes`). */
  health?: Record<string, number>;
}

export function varsOf(setup: GuardSetup): Record<string, string> {
  const targets = (setup.targets ?? ["a"]).map((t, i) => ({
    url: targetUrl(t, setup.scenario),
    weight: i === 0 ? 1_000_000_000 : 1,
  }));
  const vars: Record<string, string> = {
    ENDPOINTS: JSON.stringify({
      [setup.scenario]: {
        targets,
        transport: setup.transport,
        ...(setup.health ? { health: setup.health } : {}),
      },
    }),
  };
  if (setup.streamGuard) vars.STREAM_GUARD = JSON.stringify(setup.streamGuard);
  return vars;
}

/** POSTs `body` to `/<scenario><path>` and reads the whole answer. */
export async function post(
  setup: GuardSetup,
  path: string,
  body: object,
): Promise<{ response: Response; text: string }> {
  const call = await callGateway(
    `/${setup.scenario}${path}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
      body: JSON.stringify(body),
    },
    varsOf(setup),
  );
  const text = await call.response.text();
  await call.settled;
  return { response: call.response, text };
}

export interface TargetHealthJson {
  url: string;
  requests: number;
  successes: number;
  failures: number;
  last_error: { kind: string; status: number | null } | null;
}

/** The endpoint's targets as `/health` reports them, once every outcome was reported. */
export async function healthOf(setup: GuardSetup): Promise<TargetHealthJson[]> {
  await settleHealthReports();
  const call = await callGateway(`/health?endpoint=${setup.scenario}`, {}, varsOf(setup));
  const report = (await call.response.json()) as {
    endpoints: Record<string, { targets: TargetHealthJson[] }>;
  };
  await call.settled;
  return report.endpoints[setup.scenario]?.targets ?? [];
}

/** The data of every `data:` line, in order. */
export function dataLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trim());
}

/** The joined `content` deltas of an OpenAI chat stream. */
export function openaiText(text: string): string {
  let out = "";
  for (const data of dataLines(text)) {
    if (data === "[DONE]") continue;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
    out += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return out;
}

/**
 * Shared pieces of the `stream-repair*` integration tests (issue 12): scripting the model-playing mock, an endpoint
 * with repair on that points at it, calls through the real Worker entry point, and readers of the client stream.
 */
import type { ModelObservation, ModelScript } from "../mocks/model-script";
import { callGateway, mockPort, putMockScript, uniqueScenario } from "./gateway";

export const scenarioId = (label: string): string => uniqueScenario("sr", label);

const origin = () => `http://127.0.0.1:${mockPort("model")}`;

export async function scriptModel(scenario: string, script: ModelScript): Promise<void> {
  await putMockScript(`${origin()}/__script/${scenario}`, script);
}

export async function modelObserved(scenario: string): Promise<ModelObservation> {
  return (await (await fetch(`${origin()}/__observed/${scenario}`)).json()) as ModelObservation;
}

export interface RepairSetup {
  scenario: string;
  transport?: "socket" | "fetch";
  /** Extra endpoint fields (`continuation`, `repair`). */
  endpoint?: Record<string, unknown>;
  /** Extra variables (`STREAM_REPAIR`, `STREAM_REPAIR_ENABLED`). */
  vars?: Record<string, string>;
}

/** Fast bounds: the tests' cuts and stalls resolve in milliseconds, not the production minutes. */
export const FAST_REPAIR = JSON.stringify({
  idleTimeoutMs: 400,
  firstByteTimeoutMs: 2_000,
  serverErrorBaseDelayMs: 1,
  serverErrorMaxDelayMs: 5,
  rateLimitDefaultDelayMs: 1,
});

export function repairVars(setup: RepairSetup): Record<string, string> {
  const endpoint = {
    targets: `${origin()}/${setup.scenario}`,
    transport: setup.transport ?? "socket",
    repair: true,
    ...setup.endpoint,
  };
  return {
    ENDPOINTS: JSON.stringify({ [setup.scenario]: endpoint }),
    STREAM_REPAIR: FAST_REPAIR,
    STREAM_GUARD: JSON.stringify({ idleMs: 300, holdMs: 2_000 }),
    ...setup.vars,
  };
}

export async function postRepair(
  setup: RepairSetup,
  path: string,
  body: object,
): Promise<{ response: Response; text: string }> {
  const call = await callGateway(
    `/${setup.scenario}${path}`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer sk-test",
        "x-api-key": "sk-ant-test",
      },
      body: JSON.stringify(body),
    },
    repairVars(setup),
  );
  const text = await call.response.text();
  await call.settled;
  return { response: call.response, text };
}

/** The `data:` payloads of an SSE text, in order. */
export function dataOf(text: string): string[] {
  return text
    .split("\n\n")
    .flatMap((event) =>
      event
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim()),
    )
    .filter((d) => d !== "");
}

export interface OpenAIRead {
  content: string;
  reasoning: string;
  done: boolean;
  errors: unknown[];
  finish: string[];
  usage: Record<string, number> | null;
  ids: Set<string>;
  toolArgs: string;
}

export function readOpenAI(text: string): OpenAIRead {
  const out: OpenAIRead = {
    content: "",
    reasoning: "",
    done: false,
    errors: [],
    finish: [],
    usage: null,
    ids: new Set(),
    toolArgs: "",
  };
  for (const data of dataOf(text)) {
    if (data === "[DONE]") {
      out.done = true;
      continue;
    }
    const chunk = JSON.parse(data) as {
      id?: string;
      error?: unknown;
      usage?: Record<string, number> | null;
      choices?: {
        delta?: {
          content?: string;
          reasoning_content?: string;
          tool_calls?: { function?: { arguments?: string } }[];
        };
        finish_reason?: string | null;
      }[];
    };
    if (chunk.error) out.errors.push(chunk.error);
    if (chunk.id) out.ids.add(chunk.id);
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    out.content += choice?.delta?.content ?? "";
    out.reasoning += choice?.delta?.reasoning_content ?? "";
    out.toolArgs += choice?.delta?.tool_calls?.[0]?.function?.arguments ?? "";
    if (choice?.finish_reason) out.finish.push(choice.finish_reason);
  }
  return out;
}

export interface AnthropicRead {
  text: string;
  thinking: string;
  types: string[];
  errors: unknown[];
  stopReason: string | null;
  usage: Record<string, number> | null;
}

export function readAnthropic(body: string): AnthropicRead {
  const out: AnthropicRead = { text: "", thinking: "", types: [], errors: [], stopReason: null, usage: null };
  for (const data of dataOf(body)) {
    const ev = JSON.parse(data) as {
      type: string;
      error?: unknown;
      delta?: { type?: string; text?: string; thinking?: string; stop_reason?: string };
      usage?: Record<string, number>;
    };
    out.types.push(ev.type);
    if (ev.type === "error") out.errors.push(ev.error);
    if (ev.delta?.type === "text_delta") out.text += ev.delta.text ?? "";
    if (ev.delta?.type === "thinking_delta") out.thinking += ev.delta.thinking ?? "";
    if (ev.type === "message_delta") {
      out.stopReason = ev.delta?.stop_reason ?? null;
      out.usage = ev.usage ?? null;
    }
  }
  return out;
}

export const CHAT = {
  model: "mock-model",
  stream: true,
  messages: [{ role: "user", content: "Tell me about rivers." }],
};
export const MESSAGES = {
  model: "mock-model",
  stream: true,
  max_tokens: 1024,
  messages: [{ role: "user", content: "Tell me about rivers." }],
};

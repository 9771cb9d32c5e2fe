/**
 * Harness for the Gemini anti-truncation integration tests: scenarios on the Gemini mock (see
 * `test/mocks/gemini-mock-README.md`), a request through `handleGeminiRequest` with small engine bounds, and
 * readers for the three client formats.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import {
  type GeminiRouteSettings,
  handleGeminiRequest,
  reattachGeminiSession,
} from "../../src/durable/gemini-session/gemini-route";
import type { GenerateContentResponse } from "../../src/gemini/types";
import { SseParser } from "../../src/stream/sse-parser";
import type { EndpointConfig } from "../../src/transport/endpoint";
import type { ScenarioSpec } from "../mocks/gemini-scenario";

export function mockOrigin(): string {
  const port = inject("mockPorts").gemini;
  if (port === undefined) throw new Error("the Gemini mock is not running");
  return `http://127.0.0.1:${port}`;
}

export const geminiEndpoint = (): EndpointConfig => ({
  name: "gemini",
  displayName: "Gemini (mock)",
  targets: [{ url: mockOrigin(), weight: 1 }],
  // Socket-first, as the built-in preset: the engine runs over the private transport.
  transport: "socket",
  gemini: true,
});

export const TEST_SETTINGS: GeminiRouteSettings = {
  enabled: true,
  aggressiveFallback: true,
  retryPromptOverrides: {},
  bounds: {
    idleTimeoutMs: 400,
    firstByteTimeoutMs: 3_000,
    serverErrorBaseDelayMs: 20,
    serverErrorMaxDelayMs: 100,
    rateLimitDefaultDelayMs: 50,
    rateLimitMaxDelayMs: 3_000,
    deadlineMs: 20_000,
  },
  graceMs: 300,
};

export interface RecordedRequest {
  attempt: number | null;
  body: { contents?: { role?: string; parts: { text?: string; thought?: boolean }[] }[] } & Record<
    string,
    unknown
  >;
  behavior: string;
  continuedFrom: number;
  partialText: string;
  containsThoughtText: boolean;
  thoughtParts: number;
  end: string | null;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function scenario(spec: ScenarioSpec): Promise<string> {
  const res = await fetch(`${mockOrigin()}/__scenarios`, { method: "POST", body: JSON.stringify(spec) });
  if (res.status !== 201) throw new Error(`scenario rejected: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The mock's request log; `min`/`ended` wait (on the mock's side, no sleeping here). */
export async function requests(id: string, min = 0, ended = true): Promise<RecordedRequest[]> {
  const q = `?min=${min}&ended=${ended ? 1 : 0}&timeoutMs=10000`;
  const res = await fetch(`${mockOrigin()}/__scenarios/${id}/requests${q}`);
  return ((await res.json()) as { requests: RecordedRequest[] }).requests;
}

export async function release(id: string, count = 1): Promise<void> {
  await (await fetch(`${mockOrigin()}/__scenarios/${id}/release?count=${count}`, { method: "POST" })).text();
}

export interface Call {
  response: Response;
  settled: Promise<void>;
}

export async function callGemini(
  path: string,
  body: unknown,
  settings: Partial<GeminiRouteSettings> = {},
  headers: Record<string, string> = {},
  signal?: AbortSignal,
  endpoint: EndpointConfig = geminiEndpoint(),
): Promise<Call> {
  const ctx = createExecutionContext();
  const url = new URL(`http://gateway.test/gemini${path}`);
  const request = new Request(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", "x-goog-api-key": "test-key", ...headers },
    ...(signal ? { signal } : {}),
  });
  const rest = url.pathname.slice("/gemini".length);
  const response = await handleGeminiRequest(
    env,
    ctx,
    request,
    { endpoint, rest, search: url.search },
    { ...TEST_SETTINGS, ...settings },
  );
  return { response, settled: waitOnExecutionContext(ctx) };
}

export const prompt = (text = "Tell me a story.") => ({ contents: [{ role: "user", parts: [{ text }] }] });
export const ssePath = (model: string) => `/v1beta/models/${model}:streamGenerateContent?alt=sse`;

/** Reads a whole SSE body: the JSON of each event, and the raw text (to check its framing). */
export async function readSse(
  response: Response,
): Promise<{ events: GenerateContentResponse[]; raw: string }> {
  const raw = await response.text();
  const parser = new SseParser();
  const events = [...parser.push(raw), ...parser.end()].map(
    (e) => JSON.parse(e.data) as GenerateContentResponse,
  );
  return { events, raw };
}

export function answerText(events: GenerateContentResponse[]): string {
  return events
    .flatMap((e) => e.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => p.thought !== true && typeof p.text === "string")
    .map((p) => p.text)
    .join("");
}

export function thoughtText(events: GenerateContentResponse[]): string {
  return events
    .flatMap((e) => e.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => p.thought === true)
    .map((p) => p.text)
    .join("");
}

export function finishReasons(events: GenerateContentResponse[]): string[] {
  return events.flatMap((e) => (e.candidates?.[0]?.finishReason ? [e.candidates[0].finishReason] : []));
}

/** Asserts every generation request the mock received is free of thought text. */
export function thoughtFree(reqs: RecordedRequest[]): boolean {
  return reqs.every((r) => !r.containsThoughtText && r.thoughtParts === 0);
}

export { env, reattachGeminiSession, waitOnExecutionContext };

export const ANSWER =
  "Once upon a time, in a quiet village by the sea, there lived an old clockmaker named Elias. " +
  "Every morning he opened his shop and wound every clock, listening to their ticking like music. " +
  "One day a girl brought him a broken pocket watch that had belonged to her grandmother. " +
  "Elias worked through the night, and when the watch finally ticked again, she smiled.";
export const THOUGHT = "The user wants a short story. I will write a gentle tale about a clockmaker.";

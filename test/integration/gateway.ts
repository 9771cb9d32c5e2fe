/**
 * Test harness for integration tests: calls the real Worker entry point inside workerd with the real
 * Durable Object bindings, with variables overridden per test.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import type { GatewayVars } from "../../src/worker/config";
import { handleRequest } from "../../src/worker/index";
import type { EchoReport } from "../mocks/echo.mock";

export const GATEWAY_ORIGIN = "http://gateway.test";

export function mockPort(name: string): number {
  const port = inject("mockPorts")[name];
  if (port === undefined) throw new Error(`no mock named ${name}`);
  return port;
}

export function mockOrigin(name: string): string {
  return `http://127.0.0.1:${mockPort(name)}`;
}

let scenarioCounter = 0;
/** A scenario id unique within this run (it also names the endpoint, so its health starts fresh). */
export function uniqueScenario(prefix: string, label: string): string {
  scenarioCounter += 1;
  return `${prefix}-${label}-${Date.now().toString(36)}-${scenarioCounter}`;
}

/** PUTs a script to a mock's control URL; a mock that refuses it fails the test's setup loudly. */
export async function putMockScript(url: string, script: unknown): Promise<void> {
  const r = await fetch(url, { method: "PUT", body: JSON.stringify(script) });
  if (!r.ok) throw new Error(`script failed: ${r.status}`);
  await r.arrayBuffer();
}

export interface GatewayCall {
  response: Response;
  /** Resolves when every `waitUntil` task of the request finished. */
  settled: Promise<void>;
}

/** Sends one request through the gateway with `vars` layered over the test environment. */
export async function callGateway(
  path: string,
  init: RequestInit = {},
  vars: GatewayVars = {},
): Promise<GatewayCall> {
  const ctx = createExecutionContext();
  const merged = { ...env, ...vars } as Env;
  const response = await handleRequest(new Request(`${GATEWAY_ORIGIN}${path}`, init), merged, ctx);
  return { response, settled: waitOnExecutionContext(ctx) };
}

export async function gateway(
  path: string,
  init: RequestInit = {},
  vars: GatewayVars = {},
): Promise<Response> {
  return (await callGateway(path, init, vars)).response;
}

/** Endpoints config that points a route name at the echo mock. */
export function echoEndpoint(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ [name]: { targets: [mockOrigin("echo")], ...extra } });
}

export async function echoReport(response: Response): Promise<EchoReport> {
  if (response.headers.get("x-mock") !== "echo") {
    throw new Error(`not an echo response (${response.status}): ${await response.text()}`);
  }
  return (await response.json()) as EchoReport;
}

export function headerNames(report: EchoReport): string[] {
  return report.headers.map(([name]) => name);
}

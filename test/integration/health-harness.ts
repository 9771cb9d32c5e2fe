/**
 * Shared pieces of the `health-*` integration tests: the scriptable targets mock, a fake clock, a
 * seeded random source and a dispatch context whose `waitUntil` tasks can be awaited.
 */

import { env } from "cloudflare:test";
import { inject } from "vitest";
import { type DispatchContext, type DispatchRequest, dispatch } from "../../src/durable/failover/failover";
import {
  clearLocalHealthViews,
  type HealthEnv,
  settleHealthReports,
} from "../../src/durable/health/health-snapshot";
import type { EndpointConfig, TransportKind } from "../../src/transport/endpoint";
import type { TargetObservation, TargetScript } from "../mocks/targets.mock";
import { seededRandom } from "../support/seeded-random";

export const healthEnv = env as unknown as HealthEnv;
export const T0 = Date.parse("2026-11-26T08:00:00.000Z");

export function port(name: string): number {
  const p = inject("mockPorts")[name];
  if (p === undefined) throw new Error(`no mock port ${name}`);
  return p;
}

const control = () => `http://127.0.0.1:${port("targets")}`;

/** Target base URL of mock target `name` (`t1`…`t4`, or `dead`) inside `scenario`. */
export function targetUrl(name: string, scenario: string): string {
  return `http://127.0.0.1:${port(`targets.${name}`)}/${scenario}`;
}

export async function script(scenario: string, target: string, value: TargetScript): Promise<void> {
  const r = await fetch(`${control()}/script/${scenario}/${target}`, {
    method: "PUT",
    body: JSON.stringify(value),
  });
  if (!r.ok) throw new Error(`script failed: ${r.status}`);
  await r.arrayBuffer();
}

export async function observed(scenario: string): Promise<Record<string, TargetObservation>> {
  const r = await fetch(`${control()}/observed/${scenario}`);
  return (await r.json()) as Record<string, TargetObservation>;
}

let counter = 0;
/** A scenario id unique within this run (also used as the endpoint name, so DO state is fresh). */
export function scenarioId(label: string): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${counter}`;
}

export function endpointOf(
  name: string,
  targets: { name: string; weight?: number }[],
  health: Record<string, number> = {},
  transport: TransportKind = "fetch",
): EndpointConfig {
  return {
    name,
    displayName: name,
    targets: targets.map((t) => ({ url: targetUrl(t.name, name), weight: t.weight ?? 1 })),
    transport,
    gemini: false,
    health,
  };
}

export class FakeClock {
  #now: number;
  constructor(start = T0) {
    this.#now = start;
  }
  now = (): number => this.#now;
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Harnesses whose background reports may still run (see `settleHarnesses`). */
const unsettled = new Set<Harness>();

/**
 * Waits for the background reports of every harness created so far. Use in `afterEach`: a health report still in
 * flight when the test file's environment closes fails the run (the Durable Object call needs the module runner).
 */
export async function settleHarnesses(): Promise<void> {
  for (const h of unsettled) await h.settle();
  unsettled.clear();
}

export class Harness {
  readonly clock: FakeClock;
  readonly random: () => number;
  readonly #pending: Promise<unknown>[] = [];
  constructor(options: { clock?: FakeClock; random?: () => number } = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.random = options.random ?? seededRandom(1);
    unsettled.add(this);
  }

  context(extra: Partial<DispatchContext> = {}): DispatchContext {
    return {
      env: healthEnv,
      waitUntil: (p) => {
        this.#pending.push(p);
      },
      aggressiveFallback: true,
      now: this.clock.now,
      random: this.random,
      ...extra,
    };
  }

  send(endpoint: EndpointConfig, init: Partial<DispatchRequest> = {}, extra: Partial<DispatchContext> = {}) {
    return dispatch(
      endpoint,
      { method: "GET", rest: "/v1/x", search: "", headers: new Headers(), body: null, ...init },
      this.context(extra),
    );
  }

  /** Waits for every background report (and the sync chains they started). */
  async settle(): Promise<void> {
    await settleHealthReports(); // also ends the batching delays
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
  }
}

export { clearLocalHealthViews };

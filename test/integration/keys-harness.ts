/** Shared pieces of the key-pool integration tests (issue 14): the multi-key mock and endpoints that use it. */
import { inject } from "vitest";
import type { EndpointConfig, KeyPlacement } from "../../src/transport/endpoint";
import type { KeyBehaviour, KeysObservation } from "../mocks/keys.mock";

export function keysOrigin(): string {
  const port = inject("mockPorts").keys;
  if (port === undefined) throw new Error("no keys mock");
  return `http://127.0.0.1:${port}`;
}

export async function scriptKeys(scenario: string, keys: Record<string, KeyBehaviour>): Promise<void> {
  const r = await fetch(`${keysOrigin()}/__control/script/${scenario}`, {
    method: "PUT",
    body: JSON.stringify({ keys }),
  });
  if (!r.ok) throw new Error(`script failed: ${r.status}`);
  await r.arrayBuffer();
}

export async function observedKeys(scenario: string): Promise<KeysObservation> {
  return (await (await fetch(`${keysOrigin()}/__control/observed/${scenario}`)).json()) as KeysObservation;
}

/** An endpoint whose one target is the keys mock inside `scenario`, with a pool in secret `secret`. */
export function poolEndpoint(
  scenario: string,
  secret: string,
  placement: KeyPlacement = { kind: "bearer" },
  targets = 1,
): EndpointConfig {
  return {
    name: scenario,
    displayName: scenario,
    // Several targets are the same mock under different scenario-prefixed paths, so they share the script.
    targets: Array.from({ length: targets }, (_, i) => ({
      url: `${keysOrigin()}/${scenario}${i === 0 ? "" : `/t${i}`}`,
      weight: 1,
    })),
    transport: "fetch",
    gemini: false,
    keys: { secret, placement },
  };
}

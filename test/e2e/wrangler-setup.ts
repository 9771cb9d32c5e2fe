import type { TestProject } from "vitest/node";
import { startGateway } from "../support/wrangler-dev";

/** The token the e2e gateway is started with. */
export const E2E_TOKEN = "e2e-token-4f9a0c7d";

declare module "vitest" {
  export interface ProvidedContext {
    gatewayOrigin: string;
  }
}

/**
 * Starts one gateway under `wrangler dev` for the e2e project, its presets remapped by `ENDPOINTS` to
 * the mock upstreams the first global setup started (`openai`, `claude` → the LLM mock; `gemini` → the
 * Gemini mock when present; `tlsopenai` → the LLM mock over TLS, `tlsuntrusted` → a TLS mock whose
 * certificate comes from a CA nobody trusts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ports = project.getProvidedContext().mockPorts;
  const local = (name: string) => `http://127.0.0.1:${ports[name]}`;
  const endpoints: Record<string, unknown> = {
    openai: { targets: local("llm"), transport: "socket" },
    claude: { targets: local("llm"), transport: "fetch" },
    echo: { targets: local("echo") },
  };
  if (ports.gemini) endpoints.gemini = { targets: local("gemini"), gemini: true };
  // The stream guard's SDK tests (issue 12): scenarios of the scriptable SSE mock, one per endpoint.
  if (ports["sse-llm.a"] && ports["sse-llm.b"]) {
    const sse = (target: "a" | "b", scenario: string) => `${local(`sse-llm.${target}`)}/${scenario}`;
    endpoints["sse-openai"] = { targets: sse("a", "e2e-openai"), transport: "socket" };
    endpoints["sse-claude"] = { targets: sse("a", "e2e-claude"), transport: "fetch" };
    endpoints["sse-failover"] = {
      targets: [
        { url: sse("a", "e2e-failover"), weight: 1_000_000_000 },
        { url: sse("b", "e2e-failover"), weight: 1 },
      ],
    };
  }
  // Stream repair's SDK tests (issue 12): the model-playing mock, one scenario per endpoint, repair on.
  if (ports.model) {
    const model = (scenario: string) => `${local("model")}/${scenario}`;
    endpoints["repair-openai"] = { targets: model("e2e-repair-openai"), transport: "socket", repair: true };
    endpoints["repair-claude"] = { targets: model("e2e-repair-claude"), transport: "fetch", repair: true };
  }
  // Over TLS (tls.mock.ts): workerd trusts this run's test CA through NODE_EXTRA_CA_CERTS.
  if (ports["tls.llm"]) {
    endpoints.tlsopenai = { targets: `https://localhost:${ports["tls.llm"]}`, transport: "socket" };
    endpoints.tlsuntrusted = { targets: `https://localhost:${ports["tls.untrusted"]}`, transport: "socket" };
  }
  const gateway = await startGateway({
    AUTH_TOKEN: E2E_TOKEN,
    ENDPOINTS: JSON.stringify(endpoints),
    ALLOW_PRIVATE_TARGETS: "true",
    // Short repair backoffs and idle bound: cuts and stalls resolve in milliseconds (repair endpoints only).
    STREAM_REPAIR: JSON.stringify({
      idleTimeoutMs: 1_000,
      serverErrorBaseDelayMs: 1,
      serverErrorMaxDelayMs: 5,
    }),
  });
  project.provide("gatewayOrigin", gateway.origin);
  return () => gateway.stop();
}

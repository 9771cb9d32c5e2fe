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
 * Gemini mock when present).
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
  const gateway = await startGateway({
    AUTH_TOKEN: E2E_TOKEN,
    ENDPOINTS: JSON.stringify(endpoints),
    ALLOW_PRIVATE_TARGETS: "true",
  });
  project.provide("gatewayOrigin", gateway.origin);
  return () => gateway.stop();
}

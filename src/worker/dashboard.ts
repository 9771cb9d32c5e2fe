import type { GatewayContext } from "./context";

/** Placeholder until the dashboard issue lands. */
export function renderDashboard(g: GatewayContext): Response {
  const names = [...g.config.endpoints.keys()].sort();
  return new Response(
    `<!doctype html><title>LLM gateway</title><h1>LLM gateway</h1><p>${names.length} endpoints</p>`,
    {
      headers: { "content-type": "text/html; charset=utf-8" },
    },
  );
}

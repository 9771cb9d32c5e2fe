/**
 * Loads the project's Gemini mock (`test/mocks/gemini.mock.ts`, which plays the model from a known
 * ground-truth answer) into plain Node through `importTypeScript`.
 */
import { join } from "node:path";
import { importTypeScript } from "./ts-module.mjs";
import { REPO_DIR } from "./workerd.mjs";

/** Starts a `GeminiMock` on 127.0.0.1; returns `{ port, url, mock, close() }`. */
export async function startGeminiMock() {
  const { GeminiMock } = await importTypeScript(join(REPO_DIR, "test/mocks/gemini.mock.ts"));
  const mock = new GeminiMock();
  const port = await mock.listen();
  const url = `http://127.0.0.1:${port}`;
  return { port, url, mock, close: () => mock.close() };
}

/** Registers a scenario (README §3 of the mock); returns its id. */
export async function registerScenario(mockUrl, spec) {
  const res = await fetch(`${mockUrl}/__scenarios`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`scenario rejected: ${JSON.stringify(body)}`);
  return body.id;
}

/** The scenario's request log, waiting until every recorded response has ended (bounded). */
export async function scenarioRequests(mockUrl, id, { min = 1, timeoutMs = 5000 } = {}) {
  const res = await fetch(`${mockUrl}/__scenarios/${id}/requests?min=${min}&ended=1&timeoutMs=${timeoutMs}`);
  return (await res.json()).requests;
}

/**
 * Typed helpers for the Gemini mock's control API (see `gemini-mock-README.md`). Uses only global `fetch`, so it
 * works in Node tests and in workerd integration tests alike.
 */
import type { ScenarioSpec } from "./gemini-scenario";
import type { RecordedRequest } from "./gemini-store";

export type { AttemptSpec, ScenarioSpec } from "./gemini-scenario";
export type { RecordedRequest } from "./gemini-store";

export interface RequestLog {
  requests: RecordedRequest[];
  timedOut: boolean;
}

export class GeminiMockClient {
  readonly base: string;

  constructor(port: number) {
    this.base = `http://127.0.0.1:${port}`;
  }

  /** Registers a scenario; returns its id (use it as the model name or in `x-mock-scenario`). */
  async scenario(spec: ScenarioSpec): Promise<string> {
    const res = await fetch(`${this.base}/__scenarios`, { method: "POST", body: JSON.stringify(spec) });
    const body = (await res.json()) as { id?: string; error?: { message: string } };
    if (res.status !== 201 || body.id === undefined)
      throw new Error(`mock rejected scenario: ${body.error?.message}`);
    return body.id;
  }

  /**
   * The request log. With `min`, waits until that many requests arrived; with `ended`, until every recorded
   * response has ended too (both bounded by `timeoutMs`, default 5000).
   */
  async requests(
    id: string,
    opts: { min?: number; ended?: boolean; timeoutMs?: number } = {},
  ): Promise<RequestLog> {
    const q = new URLSearchParams();
    if (opts.min !== undefined) q.set("min", String(opts.min));
    if (opts.ended) q.set("ended", "1");
    if (opts.timeoutMs !== undefined) q.set("timeoutMs", String(opts.timeoutMs));
    const res = await fetch(`${this.base}/__scenarios/${id}/requests?${q}`);
    if (!res.ok) throw new Error(`mock: no scenario ${id}`);
    return (await res.json()) as RequestLog;
  }

  /** Generation attempts only (pass-through requests left out). */
  async attempts(
    id: string,
    opts: { min?: number; ended?: boolean; timeoutMs?: number } = {},
  ): Promise<RecordedRequest[]> {
    return (await this.requests(id, opts)).requests.filter((r) => r.attempt !== null);
  }

  /** Releases `count` `holdAfterChars` pauses (a release sent early is banked). */
  async release(id: string, count = 1): Promise<void> {
    const res = await fetch(`${this.base}/__scenarios/${id}/release?count=${count}`, { method: "POST" });
    await res.body?.cancel();
  }

  async delete(id: string): Promise<void> {
    const res = await fetch(`${this.base}/__scenarios/${id}`, { method: "DELETE" });
    await res.body?.cancel();
  }
}

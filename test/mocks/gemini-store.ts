/**
 * Scenario registry and request log of the Gemini mock, with awaitable conditions so tests wait for events
 * (N requests arrived, every attempt ended) instead of sleeping.
 */
import type { AttemptKind, AttemptSpec, ScenarioSpec } from "./gemini-scenario";

export type RequestKind =
  | "sse"
  | "json-stream"
  | "generate"
  | "openai-stream"
  | "openai"
  | "models"
  | "count-tokens"
  | "other";

/** How the mock's response to a request ended. */
export type EndReason = "finished" | "client-closed" | "reset" | "mock-closed";

export interface RecordedRequest {
  /** 0-based position among all requests of the scenario. */
  index: number;
  /** 1-based generation attempt number; `null` for pass-through paths. */
  attempt: number | null;
  /** `Date.now()` in the mock process when the request head arrived. */
  receivedAt: number;
  method: string;
  /** Path exactly as received (no decoding), without the query. */
  path: string;
  /** Query string as received, including the leading `?` ("" when none). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  kind: RequestKind;
  /** Parsed JSON body (or the raw text when it is not JSON; `null` when empty). */
  body: unknown;
  /** The attempt behaviour that was played (`null` for pass-through). */
  behavior: AttemptKind | null;
  /** Code-point index into the ground truth the attempt continued from (0: started over). */
  continuedFrom: number;
  /** Non-thought text of the model turn the continuation point was read from ("" when none). */
  partialText: string;
  /** True when the request carries any thought text the mock emitted earlier, or any part marked `thought`. */
  containsThoughtText: boolean;
  /** Number of parts marked `thought: true` in the request's contents. */
  thoughtParts: number;
  /** `generationConfig.maxOutputTokens` (OpenAI: `max_tokens`/`max_completion_tokens`) or `null`. */
  maxOutputTokens: number | null;
  /** Answer text the attempt sent in complete events (what a client could have received). */
  emittedAnswer: string;
  /** Thought text the attempt sent in complete events. */
  emittedThought: string;
  endedAt: number | null;
  end: EndReason | null;
  /** Diagnostics (e.g. a `cut-in-char` that found no multi-byte character). */
  notes: string[];
}

export interface ScenarioState {
  id: string;
  spec: ScenarioSpec;
  requests: RecordedRequest[];
  generationAttempts: number;
  /** `contents` of the first generation request: model turns identical to these are not partial answers. */
  originalContents?: unknown[];
  /** Thought pieces sent so far, to detect thought text fed back. */
  thoughtPieces: Set<string>;
  releases: number;
  holdsPassed: number;
  waiters: Set<() => void>;
}

export class ScenarioStore {
  #next = 1;
  readonly #scenarios = new Map<string, ScenarioState>();

  add(spec: ScenarioSpec): ScenarioState {
    const id = `scn-${this.#next++}`;
    const state: ScenarioState = {
      id,
      spec,
      requests: [],
      generationAttempts: 0,
      thoughtPieces: new Set(),
      releases: 0,
      holdsPassed: 0,
      waiters: new Set(),
    };
    this.#scenarios.set(id, state);
    return state;
  }

  get(id: string): ScenarioState | undefined {
    return this.#scenarios.get(id);
  }

  delete(id: string): boolean {
    const s = this.#scenarios.get(id);
    if (s) this.notify(s);
    return this.#scenarios.delete(id);
  }

  /** The behaviour of the next generation attempt (1-based number returned alongside). */
  nextAttempt(s: ScenarioState): { number: number; spec: AttemptSpec } {
    s.generationAttempts += 1;
    const spec = s.spec.attempts?.[s.generationAttempts - 1] ?? s.spec.defaultAttempt ?? { kind: "complete" };
    return { number: s.generationAttempts, spec };
  }

  notify(s: ScenarioState): void {
    for (const w of [...s.waiters]) w();
  }

  /** Resolves when `cond()` holds (checked on every change of the scenario) or after `timeoutMs` (→ false). */
  waitFor(s: ScenarioState, cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        finish(true);
      };
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        s.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref(); // a pending wait must not keep the test process alive
      s.waiters.add(check);
    });
  }

  /** A hold step: waits until a release is available (`POST /__scenarios/{id}/release`) or `aborted()`. */
  async passHold(s: ScenarioState, aborted: () => boolean): Promise<void> {
    const ticket = s.holdsPassed + 1;
    s.holdsPassed = ticket;
    while (s.releases < ticket && !aborted()) {
      await this.waitFor(s, () => s.releases >= ticket || aborted(), 1_000);
    }
  }
}

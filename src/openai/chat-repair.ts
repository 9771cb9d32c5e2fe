/**
 * OpenAI chat completions as a stream repair adapter (issue 12): how the engine reads an upstream chunk, renders the
 * client's chunks, and continues a cut answer.
 *
 * Continuation, by what the provider documents (`ENDPOINTS.<name>.continuation`):
 * - `prefix`: the partial answer as a final assistant message with `"prefix": true` (Mistral; DeepSeek on its
 *   `/beta` base URL), which the model continues as its own;
 * - `partial`: the same with `"partial": true` (Moonshot / Kimi);
 * - `prompt` (default): the partial answer as an assistant message plus a user message asking to continue exactly
 *   where it stopped (`continue-prompt.ts`); the engine aligns the continuation's first text.
 * Reasoning (`reasoning_content`, `reasoning`) is never part of what is sent back.
 *
 * The client's chunks are rebuilt by the gateway (one id, model and `created` for the whole answer, from the first
 * attempt); fields the gateway does not model (`logprobs`, per-chunk `usage: null`) are not repeated.
 */

import { contentText, continuePrompt, reducedTokenLimit } from "../stream/continue-prompt";
import type { RetryPrompts } from "../stream/prompts";
import type {
  ClientEncoder,
  ContinuationOptions,
  FinishClass,
  ReasoningItem,
  RepairFailure,
  RepairFormat,
  RepairItem,
} from "../stream/repair-types";
import type { SseEvent } from "../stream/sse-parser";
import { isRecord } from "../stream/stream-format";
import { openaiErrorEvent } from "./error-event";

export type ChatContinuation = "prefix" | "partial" | "prompt";
export type ChatRequest = Record<string, unknown>;

const REASONING_FIELDS = ["reasoning_content", "reasoning"] as const;
/** Output passed on but never continued after. */
const OPAQUE_FIELDS = ["tool_calls", "function_call", "refusal"] as const;

/** The HTTP status an in-band error stands for (the guard's own codes are cuts: 502/504). */
function errorStatus(error: Record<string, unknown>): number {
  const code = error.code;
  if (typeof code === "number" && code >= 400 && code < 600) return code;
  if (code === "stream_stalled") return 504;
  if (typeof code === "string" && code.startsWith("stream_")) return 502;
  if (typeof error.status === "number") return error.status;
  const type = String(error.type ?? code ?? "");
  if (type.includes("rate_limit")) return 429;
  if (type.includes("invalid_request") || type.includes("context_length")) return 400;
  if (type.includes("authentication")) return 401;
  return 500;
}

class ChatParser {
  #started = false;

  parse(event: SseEvent): RepairItem[] {
    if (event.data.trim() === "[DONE]") return [{ kind: "end" }];
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      return [];
    }
    if (!isRecord(chunk)) return [];
    if (isRecord(chunk.error)) {
      const message = typeof chunk.error.message === "string" ? chunk.error.message : "upstream error";
      return [{ kind: "error", status: errorStatus(chunk.error), message }];
    }
    const items: RepairItem[] = [];
    if (!this.#started) {
      this.#started = true;
      const meta: Record<string, unknown> = {};
      for (const key of ["id", "model", "created", "system_fingerprint", "object"]) {
        if (chunk[key] !== undefined) meta[key] = chunk[key];
      }
      items.push({ kind: "start", meta });
    }
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = choices.find((c) => isRecord(c) && (c.index ?? 0) === 0);
    if (isRecord(choice)) {
      const delta = isRecord(choice.delta) ? choice.delta : {};
      for (const field of REASONING_FIELDS) {
        const text = delta[field];
        if (typeof text === "string" && text !== "") items.push({ kind: "reasoning", text, field });
      }
      if (typeof delta.content === "string" && delta.content !== "") {
        items.push({ kind: "text", text: delta.content });
      }
      if (typeof choice.text === "string" && choice.text !== "")
        items.push({ kind: "text", text: choice.text });
      const opaque: Record<string, unknown> = {};
      for (const field of OPAQUE_FIELDS) {
        const value = delta[field];
        if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
          opaque[field] = value;
        }
      }
      if (Object.keys(opaque).length > 0) items.push({ kind: "opaque", value: opaque });
      if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") {
        items.push({ kind: "finish", reason: choice.finish_reason });
      }
    }
    if (isRecord(chunk.usage)) items.push({ kind: "usage", usage: chunk.usage });
    return items;
  }
}

class ChatEncoder implements ClientEncoder {
  readonly #meta: Record<string, unknown>;
  readonly #includeUsage: boolean;
  #roleSent = false;

  constructor(meta: Record<string, unknown>, includeUsage: boolean) {
    this.#meta = {
      id: meta.id ?? `chatcmpl-gateway-${Date.now().toString(36)}`,
      object: "chat.completion.chunk",
      created: meta.created ?? Math.floor(Date.now() / 1000),
      model: meta.model ?? "",
      ...(meta.system_fingerprint !== undefined ? { system_fingerprint: meta.system_fingerprint } : {}),
    };
    this.#includeUsage = includeUsage;
  }

  #chunk(delta: Record<string, unknown>, finish: string | null = null): string {
    const d = this.#roleSent ? delta : { role: "assistant", ...delta };
    this.#roleSent = true;
    const body = { ...this.#meta, choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }] };
    return `data: ${JSON.stringify(body)}\n\n`;
  }

  reasoning(item: ReasoningItem): string[] {
    return [this.#chunk({ [item.field ?? "reasoning_content"]: item.text })];
  }

  text(text: string): string[] {
    return [this.#chunk({ content: text })];
  }

  opaque(value: unknown): string[] {
    return [this.#chunk(isRecord(value) ? value : {})];
  }

  finish(reason: string, usage: Record<string, unknown> | null): string[] {
    const out = [this.#chunk({}, reason)];
    if (this.#includeUsage && usage !== null) {
      out.push(`data: ${JSON.stringify({ ...this.#meta, choices: [], usage })}\n\n`);
    }
    out.push("data: [DONE]\n\n");
    return out;
  }

  error(failure: RepairFailure): string[] {
    return [openaiErrorEvent(failure)];
  }
}

const FINISH: Record<string, FinishClass> = {
  stop: "complete",
  tool_calls: "complete",
  function_call: "complete",
  length: "max_tokens",
  content_filter: "blocked",
};

/** Whether a chat request may be repaired: a stream of one choice (several choices are guarded, not repaired). */
export function isRepairableChatRequest(body: unknown): body is ChatRequest {
  if (!isRecord(body) || body.stream !== true || !Array.isArray(body.messages)) return false;
  return body.n === undefined || body.n === null || body.n === 1;
}

/** The adapter for one session; `original` is the client's request (its `stream_options.include_usage`). */
export function chatRepairFormat(
  original: ChatRequest,
  continuation: ChatContinuation,
  prompts: RetryPrompts,
): RepairFormat<ChatRequest> {
  const options = isRecord(original.stream_options) ? original.stream_options : {};
  const includeUsage = options.include_usage === true;
  return {
    name: "openai-chat",
    prefixTrimsWhitespace: false,
    newParser: () => new ChatParser(),
    newEncoder(meta) {
      return new ChatEncoder(meta, includeUsage);
    },
    classifyFinish: (reason) => FINISH[reason] ?? "complete",
    prefixFor: () => continuation !== "prompt",
    outputTokens: (usage) => (typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0),
    buildContinuation(original, answer, opts: ContinuationOptions) {
      const messages = [...(original.messages as unknown[])];
      if (opts.prefix) {
        messages.push({
          role: "assistant",
          content: answer,
          [continuation === "partial" ? "partial" : "prefix"]: true,
        });
      } else {
        const users = messages
          .filter((m) => isRecord(m) && m.role === "user")
          .map((m) => contentText((m as Record<string, unknown>).content));
        messages.push({ role: "assistant", content: answer });
        messages.push({ role: "user", content: continuePrompt(prompts, users, answer) });
      }
      const next: ChatRequest = { ...original, messages };
      for (const key of ["max_tokens", "max_completion_tokens"]) {
        if (next[key] !== undefined) next[key] = reducedTokenLimit(next[key], opts.producedOutputTokens);
      }
      return next;
    },
  };
}

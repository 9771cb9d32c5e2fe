/**
 * Anthropic Messages as a stream repair adapter (issue 12).
 *
 * Continuation: with extended thinking off, the partial answer becomes a final assistant message (a prefill), which
 * Claude continues as its own text; it is sent without trailing whitespace (the API refuses a final assistant
 * message ending in whitespace; `prefix-aligner.ts` drops that whitespace from the continuation). Models that refuse
 * prefills answer with a 400: the engine then continues by the continue prompt, as it does whenever thinking is on
 * (`thinking.type` `enabled` or `adaptive`). Thinking text is never sent back.
 *
 * The client's events are rebuilt: one `message_start` (the first attempt's message), content blocks numbered by the
 * gateway (thinking, text, tool use in the order they reached the client), and one final `message_delta` with the
 * stop reason and the usage summed over the attempts, then `message_stop`. Not modelled (and not shown from a
 * repaired stream): `redacted_thinking` blocks and citations.
 */

import { contentText, continuePrompt, reducedTokenLimit } from "../stream/continue-prompt";
import { prefixText } from "../stream/prefix-aligner";
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
import { anthropicErrorEvent } from "./messages-stream";

export type MessagesRequest = Record<string, unknown>;

/** Anthropic's error types and the HTTP statuses they stand for (the guard's own cuts read as 5xx). */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 502,
  timeout_error: 504,
  overloaded_error: 529,
};

/** One upstream content block's kind, by its upstream index. */
type BlockKind = "text" | "thinking" | "opaque" | "ignored";

class MessagesParser {
  readonly #blocks = new Map<number, BlockKind>();

  parse(event: SseEvent): RepairItem[] {
    let value: unknown;
    try {
      value = JSON.parse(event.data);
    } catch {
      return [];
    }
    if (!isRecord(value)) return [];
    const index = typeof value.index === "number" ? value.index : -1;
    switch (value.type) {
      case "message_start": {
        const message = isRecord(value.message) ? value.message : {};
        const items: RepairItem[] = [{ kind: "start", meta: message }];
        if (isRecord(message.usage)) items.push({ kind: "usage", usage: message.usage });
        return items;
      }
      case "content_block_start": {
        const block = isRecord(value.content_block) ? value.content_block : {};
        if (block.type === "text") {
          this.#blocks.set(index, "text");
          return typeof block.text === "string" && block.text !== ""
            ? [{ kind: "text", text: block.text }]
            : [];
        }
        if (block.type === "thinking") {
          this.#blocks.set(index, "thinking");
          return typeof block.thinking === "string" && block.thinking !== ""
            ? [{ kind: "reasoning", text: block.thinking }]
            : [];
        }
        if (block.type === "redacted_thinking") {
          this.#blocks.set(index, "ignored");
          return [];
        }
        this.#blocks.set(index, "opaque");
        return [{ kind: "opaque", value: { start: block } }];
      }
      case "content_block_delta": {
        const delta = isRecord(value.delta) ? value.delta : {};
        const kind = this.#blocks.get(index);
        if (kind === "opaque") return [{ kind: "opaque", value: { delta } }];
        if (delta.type === "text_delta" && typeof delta.text === "string" && delta.text !== "") {
          return [{ kind: "text", text: delta.text }];
        }
        if (delta.type === "thinking_delta" && typeof delta.thinking === "string" && delta.thinking !== "") {
          return [{ kind: "reasoning", text: delta.thinking }];
        }
        if (delta.type === "signature_delta" && typeof delta.signature === "string") {
          return [{ kind: "reasoning", text: "", signature: delta.signature }];
        }
        return [];
      }
      case "content_block_stop":
        return this.#blocks.get(index) === "opaque" ? [{ kind: "opaque", value: { stop: true } }] : [];
      case "message_delta": {
        const items: RepairItem[] = [];
        const delta = isRecord(value.delta) ? value.delta : {};
        if (typeof delta.stop_reason === "string") {
          const stopSequence = typeof delta.stop_sequence === "string" ? delta.stop_sequence : null;
          items.push({ kind: "finish", reason: delta.stop_reason, stopSequence });
        }
        if (isRecord(value.usage)) items.push({ kind: "usage", usage: value.usage });
        return items;
      }
      case "message_stop":
        return [{ kind: "end" }];
      case "error": {
        const error = isRecord(value.error) ? value.error : {};
        const type = typeof error.type === "string" ? error.type : "api_error";
        const message = typeof error.message === "string" ? error.message : "upstream error";
        return [{ kind: "error", status: ERROR_STATUS[type] ?? 500, message }];
      }
      default:
        return [];
    }
  }
}

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

class MessagesEncoder implements ClientEncoder {
  readonly #message: Record<string, unknown>;
  #started = false;
  #open: { kind: "text" | "thinking" | "opaque"; index: number } | null = null;
  #nextIndex = 0;

  constructor(meta: Record<string, unknown>) {
    this.#message = {
      id: meta.id ?? `msg_gateway_${Date.now().toString(36)}`,
      type: "message",
      role: "assistant",
      model: meta.model ?? "",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: isRecord(meta.usage) ? meta.usage : { input_tokens: 0, output_tokens: 0 },
    };
  }

  #prelude(out: string[]): void {
    if (this.#started) return;
    this.#started = true;
    out.push(sse("message_start", { message: this.#message }));
  }

  #close(out: string[]): void {
    if (this.#open === null) return;
    out.push(sse("content_block_stop", { index: this.#open.index }));
    this.#open = null;
  }

  #ensure(kind: "text" | "thinking", out: string[]): number {
    this.#prelude(out);
    if (this.#open?.kind === kind) return this.#open.index;
    this.#close(out);
    const index = this.#nextIndex++;
    const block =
      kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" };
    out.push(sse("content_block_start", { index, content_block: block }));
    this.#open = { kind, index };
    return index;
  }

  reasoning(item: ReasoningItem): string[] {
    const out: string[] = [];
    const index = this.#ensure("thinking", out);
    if (item.text !== "") {
      out.push(sse("content_block_delta", { index, delta: { type: "thinking_delta", thinking: item.text } }));
    }
    if (item.signature !== undefined) {
      out.push(
        sse("content_block_delta", { index, delta: { type: "signature_delta", signature: item.signature } }),
      );
    }
    return out;
  }

  text(text: string): string[] {
    const out: string[] = [];
    const index = this.#ensure("text", out);
    out.push(sse("content_block_delta", { index, delta: { type: "text_delta", text } }));
    return out;
  }

  opaque(value: unknown): string[] {
    const out: string[] = [];
    this.#prelude(out);
    const v = isRecord(value) ? value : {};
    if (isRecord(v.start)) {
      this.#close(out);
      const index = this.#nextIndex++;
      out.push(sse("content_block_start", { index, content_block: v.start }));
      this.#open = { kind: "opaque", index };
    } else if (isRecord(v.delta) && this.#open?.kind === "opaque") {
      out.push(sse("content_block_delta", { index: this.#open.index, delta: v.delta }));
    } else if (v.stop === true) {
      this.#close(out);
    }
    return out;
  }

  finish(
    reason: string,
    usage: Record<string, unknown> | null,
    stopSequence: string | null = null,
  ): string[] {
    const out: string[] = [];
    this.#prelude(out);
    this.#close(out);
    out.push(
      sse("message_delta", {
        delta: { stop_reason: reason, stop_sequence: stopSequence },
        usage: usage ?? { output_tokens: 0 },
      }),
    );
    out.push(sse("message_stop", {}));
    return out;
  }

  error(failure: RepairFailure): string[] {
    return [anthropicErrorEvent(failure)];
  }
}

const FINISH: Record<string, FinishClass> = {
  end_turn: "complete",
  stop_sequence: "complete",
  tool_use: "complete",
  pause_turn: "complete",
  max_tokens: "max_tokens",
  model_context_window_exceeded: "max_tokens",
  refusal: "blocked",
};

function thinkingOn(request: MessagesRequest): boolean {
  const thinking = request.thinking;
  return isRecord(thinking) && (thinking.type === "enabled" || thinking.type === "adaptive");
}

/** A Messages request that may be repaired: a stream with a message list. */
export function isRepairableMessagesRequest(body: unknown): body is MessagesRequest {
  return isRecord(body) && body.stream === true && Array.isArray(body.messages);
}

export function messagesRepairFormat(prompts: RetryPrompts): RepairFormat<MessagesRequest> {
  return {
    name: "anthropic-messages",
    prefixTrimsWhitespace: true,
    newParser: () => new MessagesParser(),
    newEncoder: (meta) => new MessagesEncoder(meta),
    classifyFinish: (reason) => FINISH[reason] ?? "complete",
    prefixFor: (original) => !thinkingOn(original),
    outputTokens: (usage) => (typeof usage.output_tokens === "number" ? usage.output_tokens : 0),
    buildContinuation(original, answer, opts: ContinuationOptions) {
      const messages = [...(original.messages as unknown[])];
      // A client prefill stays in front of the answer the model continued from it.
      const last = messages.at(-1);
      let sent = answer;
      if (isRecord(last) && last.role === "assistant") {
        sent = contentText(last.content) + answer;
        messages.pop();
      }
      if (opts.prefix && prefixText(sent) !== "") {
        messages.push({ role: "assistant", content: prefixText(sent) });
      } else {
        const users = messages
          .filter((m) => isRecord(m) && m.role === "user")
          .map((m) => contentText((m as Record<string, unknown>).content));
        messages.push({ role: "assistant", content: prefixText(sent) });
        messages.push({ role: "user", content: continuePrompt(prompts, users, answer) });
      }
      const next: MessagesRequest = { ...original, messages };
      if (next.max_tokens !== undefined)
        next.max_tokens = reducedTokenLimit(next.max_tokens, opts.producedOutputTokens);
      return next;
    },
  };
}

/**
 * A mock upstream that plays the model (issue 12; scripts in `model-script.ts`). Every request carries a scenario id
 * as its first path segment (target base URL `http://127.0.0.1:<port>/<scenario>`); `<scenario>~<name>` is the same
 * scenario under another target URL (several targets of one endpoint playing one script, recorded as `target`).
 *
 * Control API (same port): `PUT /__script/<scenario>` with a `ModelScript`; `GET /__observed/<scenario>`;
 * `GET /__closed/<scenario>/<n>` answers once the connection of the scenario's request `n` (0-based) has closed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningMock } from "./global-setup";
import type { AttemptPlan, ModelObservation, ModelRequestRecord, ModelScript } from "./model-script";

const scripts = new Map<string, ModelScript>();
const observed = new Map<string, ModelObservation>();
/** Per scenario, one promise per request that resolves when its connection closes. */
const closed = new Map<string, Promise<void>[]>();

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

type Msg = { role?: string; content?: unknown; prefix?: boolean; partial?: boolean };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
  return "";
}

/** The partial answer a request carries, and how; or an error text for a request the model refuses. */
function partialOf(
  script: ModelScript,
  messages: Msg[],
): { mode: ModelRequestRecord["mode"]; partial: string } | string {
  const last = messages.at(-1);
  const before = messages.at(-2);
  if (last?.role === "assistant") {
    const kind =
      script.format === "anthropic" ? "anthropic" : last.prefix ? "prefix" : last.partial ? "partial" : null;
    if (kind === null) return "a final assistant message without prefix/partial";
    if (script.prefix !== kind) return `This model does not support assistant message prefill (${kind})`;
    if (script.format === "anthropic" && /\s$/.test(textOf(last.content))) {
      return "final assistant content cannot end with trailing whitespace";
    }
    return { mode: "prefix", partial: textOf(last.content) };
  }
  if (last?.role === "user" && before?.role === "assistant")
    return { mode: "prompt", partial: textOf(before.content) };
  return { mode: "fresh", partial: "" };
}

function chunks(text: string, size: number): string[] {
  const cps = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out;
}

/** Event writers of one format. */
interface Wire {
  start(): string[];
  reasoning(text: string): string;
  text(text: string): string;
  tool(args: string, first: boolean): string;
  finish(reason: "stop" | "tool", usage: { input: number; output: number }, includeUsage: boolean): string[];
  error(): string;
}

function openaiWire(n: number): Wire {
  const chunk = (delta: object, finish: string | null = null) => {
    const choices = Array.from({ length: n }, (_, index) => ({ index, delta, finish_reason: finish }));
    return `data: ${JSON.stringify({ id: "chatcmpl-model", object: "chat.completion.chunk", created: 1_700_000_000, model: "mock-model", choices })}\n\n`;
  };
  return {
    start: () => [chunk({ role: "assistant", content: "" })],
    reasoning: (text) => chunk({ reasoning_content: text }),
    text: (text) => chunk({ content: text }),
    tool: (args, first) =>
      chunk({
        tool_calls: [
          first
            ? { index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: args } }
            : { index: 0, function: { arguments: args } },
        ],
      }),
    finish: (reason, usage, includeUsage) => {
      const out = [chunk({}, reason === "tool" ? "tool_calls" : "stop")];
      if (includeUsage) {
        const u = {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
        };
        out.push(
          `data: ${JSON.stringify({ id: "chatcmpl-model", object: "chat.completion.chunk", created: 1_700_000_000, model: "mock-model", choices: [], usage: u })}\n\n`,
        );
      }
      out.push("data: [DONE]\n\n");
      return out;
    },
    error: () =>
      `data: ${JSON.stringify({ error: { message: "the model is overloaded", type: "server_error", code: null } })}\n\n`,
  };
}

function anthropicWire(input: number): Wire {
  const ev = (type: string, data: object = {}) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let block = -1;
  let open: string | null = null;
  const ensure = (kind: string, startBlock: object): string => {
    if (open === kind) return "";
    let out = open !== null ? ev("content_block_stop", { index: block }) : "";
    block++;
    open = kind;
    out += ev("content_block_start", { index: block, content_block: startBlock });
    return out;
  };
  return {
    start: () => [
      ev("message_start", {
        message: {
          id: "msg_model",
          type: "message",
          role: "assistant",
          model: "mock-model",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: input, output_tokens: 1 },
        },
      }),
      ev("ping"),
    ],
    reasoning: (text) =>
      ensure("thinking", { type: "thinking", thinking: "" }) +
      ev("content_block_delta", { index: block, delta: { type: "thinking_delta", thinking: text } }),
    text: (text) =>
      ensure("text", { type: "text", text: "" }) +
      ev("content_block_delta", { index: block, delta: { type: "text_delta", text } }),
    tool: (args) =>
      ensure("tool", { type: "tool_use", id: "toolu_1", name: "lookup", input: {} }) +
      ev("content_block_delta", { index: block, delta: { type: "input_json_delta", partial_json: args } }),
    finish: (reason, usage) => [
      (open !== null ? ev("content_block_stop", { index: block }) : "") +
        ev("message_delta", {
          delta: { stop_reason: reason === "tool" ? "tool_use" : "end_turn", stop_sequence: null },
          usage: { output_tokens: usage.output },
        }),
      ev("message_stop"),
    ],
    error: () => ev("error", { error: { type: "overloaded_error", message: "Overloaded" } }),
  };
}

/** Bytes of `event` up to the middle of its first multi-byte character (or half of it when it has none). */
function midCharBytes(event: string): Buffer {
  const bytes = Buffer.from(event, "utf8");
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0xc0) return bytes.subarray(0, i + 1);
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

async function play(
  req: IncomingMessage,
  res: ServerResponse,
  script: ModelScript,
  plan: AttemptPlan,
  request: Record<string, unknown>,
  record: ModelRequestRecord,
): Promise<void> {
  const n = typeof request.n === "number" ? request.n : 1;
  const input = Math.ceil(record.body.length / 10);
  const wire = script.format === "openai" ? openaiWire(n) : anthropicWire(input);
  const includeUsage =
    (request.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const size = script.chunkChars ?? 4;
  // The events of the whole attempt, with where the answer text starts, then where to cut.
  const events: string[] = [...wire.start()];
  if (plan.errorBeforeContent) events.push(wire.error());
  let cutAt: number | null = null;
  if (script.reasoning) {
    let written = 0;
    for (const piece of chunks(script.reasoning, size)) {
      if (plan.cutInReasoningAfter !== undefined && written >= plan.cutInReasoningAfter && cutAt === null) {
        cutAt = events.length;
      }
      events.push(wire.reasoning(piece));
      written += piece.length;
    }
  }
  let emitted = "";
  if (script.toolArguments !== undefined) {
    chunks(script.toolArguments, size).forEach((piece, i) => {
      if (plan.cutAfter !== undefined && emitted.length >= plan.cutAfter && cutAt === null)
        cutAt = events.length;
      events.push(wire.tool(piece, i === 0));
      emitted += piece;
    });
  } else {
    let text = plan.emptyAnswer ? "" : script.answer.slice(record.partial.length);
    if (record.mode === "prompt") {
      if (plan.restart) text = script.answer;
      else if (plan.overlap) text = record.partial.slice(-plan.overlap) + text;
      if (plan.preamble) text = plan.preamble + text;
    }
    for (const piece of chunks(text, size)) {
      if (plan.cutAfter !== undefined && Array.from(emitted).length >= plan.cutAfter && cutAt === null) {
        cutAt = events.length;
      }
      events.push(wire.text(piece));
      emitted += piece;
    }
  }
  if (plan.cutAfter !== undefined && cutAt === null) cutAt = events.length;
  const usage = { input, output: Array.from(emitted).length };
  if (cutAt === null) {
    events.push(...wire.finish(script.toolArguments !== undefined ? "tool" : "stop", usage, includeUsage));
    if (script.format === "anthropic" || includeUsage) record.usage = usage;
  } else if (script.format === "anthropic") {
    // message_start reported the input tokens (and one output token) before the cut.
    record.usage = { input, output: 1 };
  }
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  res.flushHeaders();
  const upTo = cutAt ?? events.length;
  for (let i = 0; i < upTo; i++) {
    if (res.destroyed) return;
    res.write(events[i]);
  }
  if (cutAt === null) return void res.end();
  const next = events[cutAt] ?? wire.text("…tail that never arrives");
  switch (plan.cut ?? "close") {
    case "close":
      return void res.end();
    case "mid_event":
      res.write(next.slice(0, Math.floor(next.length / 2)));
      return void res.end();
    case "mid_char":
      res.write(midCharBytes(next));
      return void res.end();
    case "error":
      res.write(wire.error());
      return void res.end();
    case "reset": {
      // The RST must follow the events already written: wait until the socket has handed them to the kernel
      // (on loopback that is the client's receive buffer), then reset.
      const socket = res.socket;
      if (socket) await new Promise<void>((resolve) => socket.write("", () => resolve()));
      socket?.resetAndDestroy();
      return;
    }
    case "stall":
      await new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
      return;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const path = req.url ?? "/";
  const [, first, scenario] = path.split("?")[0]?.split("/") ?? [];
  const send = (status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  if (first === "__script" && scenario && req.method === "PUT") {
    scripts.set(scenario, JSON.parse(body) as ModelScript);
    observed.set(scenario, { requests: [] });
    closed.set(scenario, []);
    return send(200, { ok: true });
  }
  if (first === "__observed" && scenario) return send(200, observed.get(scenario) ?? { requests: [] });
  if (first === "__closed" && scenario) {
    const n = Number(path.split("?")[0]?.split("/")[3] ?? "0");
    await closed.get(scenario)?.[n];
    return send(200, { closed: closed.get(scenario)?.[n] !== undefined });
  }
  const [id, target] = (first ?? "").split("~");
  const script = id ? scripts.get(id) : undefined;
  if (!script || !id) return send(404, { error: { message: `no script for ${first}` } });
  const obs = observed.get(id) as ModelObservation;
  const request = JSON.parse(body) as Record<string, unknown>;
  const found = partialOf(script, (request.messages ?? []) as Msg[]);
  const record: ModelRequestRecord = {
    body,
    // A refused prefix is still a prefix request (the test checks what was tried).
    mode:
      typeof found === "string"
        ? (request.messages as Msg[] | undefined)?.at(-1)?.role === "assistant"
          ? "prefix"
          : "fresh"
        : found.mode,
    partial: typeof found === "string" ? "" : found.partial,
    usage: null,
    ...(target ? { target } : {}),
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
  };
  const plan = script.attempts[obs.requests.length] ?? {};
  obs.requests.push(record);
  const list = closed.get(id) ?? [];
  list.push(new Promise<void>((resolve) => req.socket.once("close", () => resolve())));
  closed.set(id, list);
  if (typeof found === "string") {
    return send(400, { type: "error", error: { type: "invalid_request_error", message: found } });
  }
  if (script.toolArguments === undefined && !script.answer.startsWith(found.partial)) {
    const message = `the partial answer is not a prefix of the ground truth: ${JSON.stringify(found.partial.slice(-40))}`;
    return send(400, { type: "error", error: { type: "invalid_request_error", message } });
  }
  if (plan.status !== undefined) {
    res.writeHead(plan.status, { "content-type": "application/json" });
    return void res.end(plan.body ?? JSON.stringify({ error: { message: `scripted ${plan.status}` } }));
  }
  await play(req, res, script, plan, request, record);
}

export async function start(): Promise<RunningMock> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

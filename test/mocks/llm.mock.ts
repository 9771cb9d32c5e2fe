/**
 * A small OpenAI- and Anthropic-compatible model for SDK end-to-end tests. It answers with
 * `echo: <last user message>`, streamed word by word when asked, and reports the header names it
 * received in `x-received-headers` so tests can check what the gateway forwarded.
 *
 * - `POST /v1/chat/completions` (OpenAI Chat Completions, `stream` true or false)
 * - `POST /v1/messages` (Anthropic Messages, `stream` true or false)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { RunningMock } from "./global-setup";
import { listenOnLoopback } from "./listen";

interface ChatBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: string | { type: string; text?: string }[] }[];
}

function lastUserText(body: ChatBody): string {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return last.content.map((part) => part.text ?? "").join("");
}

function words(text: string): string[] {
  return text.split(/(?<= )/);
}

function sse(res: ServerResponse, received: string): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-received-headers": received,
  });
}

function openai(body: ChatBody, res: ServerResponse, received: string): void {
  const answer = `echo: ${lastUserText(body)}`;
  const base = { id: "chatcmpl-mock", created: 1_700_000_000, model: body.model ?? "mock" };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json", "x-received-headers": received });
    res.end(
      JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
    return;
  }
  sse(res, received);
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: "assistant", content: "" }, null));
  for (const word of words(answer)) res.write(chunk({ content: word }, null));
  res.write(chunk({}, "stop"));
  res.end("data: [DONE]\n\n");
}

function anthropic(body: ChatBody, res: ServerResponse, received: string): void {
  const answer = `echo: ${lastUserText(body)}`;
  const message = {
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model: body.model ?? "mock",
    stop_sequence: null,
  };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json", "x-received-headers": received });
    res.end(
      JSON.stringify({
        ...message,
        content: [{ type: "text", text: answer }],
        stop_reason: "end_turn",
        usage: { input_tokens: 3, output_tokens: 2 },
      }),
    );
    return;
  }
  sse(res, received);
  const event = (type: string, data: object) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event("message_start", {
    message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } },
  });
  event("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
  for (const word of words(answer))
    event("content_block_delta", { index: 0, delta: { type: "text_delta", text: word } });
  event("content_block_stop", { index: 0 });
  event("message_delta", {
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 2 },
  });
  event("message_stop", {});
  res.end();
}

async function readJson(req: IncomingMessage): Promise<ChatBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as ChatBody;
}

export async function start(): Promise<RunningMock> {
  const server = createServer(async (req, res) => {
    const received = Object.keys(req.headers).sort().join(",");
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "POST" && path === "/v1/chat/completions")
      return openai(await readJson(req), res, received);
    if (req.method === "POST" && path === "/v1/messages")
      return anthropic(await readJson(req), res, received);
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `mock has no ${req.method} ${path}` } }));
  });
  return listenOnLoopback(server);
}

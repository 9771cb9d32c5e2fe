/**
 * Scriptable Gemini upstream for tests: a real HTTP/1.1 server on 127.0.0.1 that plays a model per registered
 * scenario (see `gemini-mock-README.md` for the control API and the behaviours). Started by the global setup
 * (`mockPorts.gemini`); unit tests may call `start()` themselves.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { googleErr, handleControl, readBody, sendJson } from "./gemini-control";
import { type ContentLike, findContinuationPoint, planAttempt, requestTexts } from "./gemini-play";
import { type RecordedRequest, type RequestKind, type ScenarioState, ScenarioStore } from "./gemini-store";
import {
  aggregate,
  cutBytes,
  JSON_ARRAY_END,
  jsonArrayElement,
  openAiChunk,
  openAiCompletion,
  rawErrorObject,
  sseEvent,
  utf8,
  type WireFormat,
} from "./gemini-wire";
import type { RunningMock } from "./global-setup";

export const SCENARIO_HEADER = "x-mock-scenario";

type Json = Record<string, unknown>;

/** A pause that does not keep the process alive by itself (a stalled first byte must not delay shutdown). */
const delay = (ms: number): Promise<void> =>
  new Promise((r) => (ms > 0 ? setTimeout(r, ms).unref() : setImmediate(r)));

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function openAiToContents(messages: unknown): ContentLike[] {
  if (!Array.isArray(messages)) return [];
  return messages.map((m: Json) => {
    const c = m.content;
    const text =
      typeof c === "string" ? c : Array.isArray(c) ? c.map((p: Json) => p.text ?? "").join("") : "";
    return { role: m.role === "assistant" ? "model" : "user", parts: [{ text }] };
  });
}

export class GeminiMock {
  readonly store = new ScenarioStore();
  readonly #server = createServer((req, res) => {
    this.#handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) googleErr(res, 500, "INTERNAL", `mock failure: ${String(e)}`);
      else res.destroy();
    });
  });
  readonly #sockets = new Set<Socket>();
  #closing = false;

  async listen(): Promise<number> {
    this.#server.on("connection", (s: Socket) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? "" : rawUrl.slice(q);
    if (path === "/__scenarios" || path.startsWith("/__scenarios/"))
      return handleControl(this.store, req, res, path, query);

    const bodyText = await readBody(req);
    const body = parseJson(bodyText);
    const header = req.headers[SCENARIO_HEADER];
    const headerId = typeof header === "string" ? header : undefined;

    const gen =
      /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens|[A-Za-z]+)$/.exec(path);
    if (path === "/v1beta/openai/chat/completions" && req.method === "POST") {
      const b = (body ?? {}) as Json;
      const model = String(b.model ?? "").replace(/^.*\//, "");
      const kind: RequestKind = b.stream === true ? "openai-stream" : "openai";
      const s = this.store.get(headerId ?? model);
      if (!s) return googleErr(res, 404, "NOT_FOUND", `models/${model} is not found`);
      const max = (b.max_completion_tokens ?? b.max_tokens) as number | undefined;
      return this.#play(s, req, res, {
        path,
        query,
        body,
        kind,
        contents: openAiToContents(b.messages),
        max,
        model,
      });
    }
    if (
      gen &&
      req.method === "POST" &&
      (gen[2] === "streamGenerateContent" || gen[2] === "generateContent")
    ) {
      const model = decodeURIComponent(gen[1] ?? "");
      const s = this.store.get(headerId ?? model);
      if (!s) return googleErr(res, 404, "NOT_FOUND", `models/${model} is not found for API version v1beta`);
      const kind: RequestKind =
        gen[2] === "generateContent" ? "generate" : /[?&]alt=sse(&|$)/.test(query) ? "sse" : "json-stream";
      const b = (body ?? {}) as Json;
      const contents = Array.isArray(b.contents) ? (b.contents as ContentLike[]) : [];
      const max = (b.generationConfig as Json | undefined)?.maxOutputTokens as number | undefined;
      return this.#play(s, req, res, { path, query, body, kind, contents, max, model });
    }

    // Pass-through paths: answered like the real API, recorded when a scenario is named.
    const s = this.store.get(headerId ?? gen?.[1] ?? "");
    const kind: RequestKind =
      path === "/v1beta/models" || (gen === null && path.startsWith("/v1beta/models/"))
        ? "models"
        : gen?.[2] === "countTokens"
          ? "count-tokens"
          : "other";
    if (s) this.#record(s, req, { path, query, body, kind, attempt: null });
    if (kind === "models" && req.method === "GET") {
      const model = (name: string): Json => ({
        name: `models/${name}`,
        displayName: `Mock ${name}`,
        inputTokenLimit: 1_048_576,
        outputTokenLimit: 65_536,
        supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
      });
      if (path === "/v1beta/models") return sendJson(res, 200, { models: [model("gemini-mock")] });
      return sendJson(res, 200, model(decodeURIComponent(path.slice("/v1beta/models/".length))));
    }
    if (kind === "count-tokens") {
      const b = (body ?? {}) as Json;
      const contents = Array.isArray(b.contents) ? (b.contents as ContentLike[]) : [];
      return sendJson(res, 200, { totalTokens: Math.ceil(Array.from(requestTexts(contents)).length / 4) });
    }
    return sendJson(res, 200, { mockEcho: { method: req.method, path, query, body } });
  }

  #record(
    s: ScenarioState,
    req: IncomingMessage,
    r: { path: string; query: string; body: unknown; kind: RequestKind; attempt: number | null },
  ): RecordedRequest {
    const rec: RecordedRequest = {
      index: s.requests.length,
      attempt: r.attempt,
      receivedAt: Date.now(),
      method: req.method ?? "",
      path: r.path,
      query: r.query,
      headers: { ...req.headers },
      kind: r.kind,
      body: r.body,
      behavior: null,
      continuedFrom: 0,
      partialText: "",
      containsThoughtText: false,
      thoughtParts: 0,
      maxOutputTokens: null,
      emittedAnswer: "",
      emittedThought: "",
      endedAt: r.attempt === null ? Date.now() : null,
      end: r.attempt === null ? "finished" : null,
      notes: [],
    };
    s.requests.push(rec);
    this.store.notify(s);
    return rec;
  }

  async #play(
    s: ScenarioState,
    req: IncomingMessage,
    res: ServerResponse,
    r: {
      path: string;
      query: string;
      body: unknown;
      kind: RequestKind;
      contents: ContentLike[];
      max: number | undefined;
      model: string;
    },
  ): Promise<void> {
    const { number, spec } = this.store.nextAttempt(s);
    const rec = this.#record(s, req, { ...r, attempt: number });
    if (s.originalContents === undefined) s.originalContents = r.contents;
    const point = findContinuationPoint(r.contents, s.spec.answer, s.originalContents as ContentLike[]);
    const b = (r.body ?? {}) as Json;
    const allText = requestTexts(r.contents, [
      ((b.systemInstruction as Json | undefined)?.parts as Json[])?.[0]?.text,
    ]);
    rec.behavior = spec.kind;
    rec.continuedFrom = point.from;
    rec.partialText = point.partialText;
    rec.thoughtParts = r.contents.reduce(
      (n, c) => n + (c.parts ?? []).filter((p) => p.thought === true).length,
      0,
    );
    rec.containsThoughtText = rec.thoughtParts > 0 || [...s.thoughtPieces].some((t) => allText.includes(t));
    rec.maxOutputTokens = typeof r.max === "number" ? r.max : null;

    const plan = planAttempt({
      scenario: s.spec,
      attempt: spec,
      point,
      scenarioId: s.id,
      attemptNumber: number,
      promptChars: Array.from(allText).length,
    });
    rec.emittedAnswer = plan.answerText;
    rec.emittedThought = plan.thoughtText;
    for (const piece of plan.thoughtText.match(/.{1,16}/gsu) ?? []) {
      if (piece.trim().length >= 4) s.thoughtPieces.add(piece.trim());
    }

    let clientGone = false;
    const finish = (end: RecordedRequest["end"]): void => {
      if (rec.end !== null) return;
      rec.end = end;
      rec.endedAt = Date.now();
      this.store.notify(s);
    };
    res.on("close", () => {
      clientGone = !res.writableFinished;
      if (clientGone) finish(this.#closing ? "mock-closed" : "client-closed");
      else finish("finished");
    });
    const gone = (): boolean => clientGone || res.destroyed || this.#closing;

    await delay(spec.firstByteDelayMs ?? s.spec.firstByteDelayMs ?? 0);
    if (gone()) return;
    if (plan.httpError)
      return sendJson(res, plan.httpError.status, plan.httpError.body, plan.httpError.headers);

    const format = r.kind as WireFormat;
    const streaming = format === "sse" || format === "json-stream" || format === "openai-stream";
    const contentType =
      format === "sse" || format === "openai-stream"
        ? "text/event-stream"
        : "application/json; charset=UTF-8";
    const write = async (chunk: string | Uint8Array): Promise<void> => {
      const bytes = typeof chunk === "string" ? utf8(chunk) : chunk;
      const step = s.spec.splitWriteBytes ?? bytes.length;
      for (let i = 0; i < bytes.length && !gone(); i += step) {
        res.write(bytes.slice(i, i + step));
        if (i + step < bytes.length) await delay(0);
      }
    };
    const endConnection = (): void => {
      if (plan.end === "reset") {
        req.socket.resetAndDestroy();
        finish("reset");
      } else if (plan.end === "close") res.end();
      // "stall": keep the socket open and silent until the client (or the mock's close) ends it.
    };

    if (!streaming) {
      for (const st of plan.steps) if (st.t === "hold") await this.store.passHold(s, gone);
      if (gone()) return;
      if (plan.end !== "close") return endConnection();
      const err = plan.steps.find((st) => st.t === "error");
      if (err?.t === "error") return sendJson(res, err.error.code, { error: err.error });
      const full = format === "openai" ? openAiCompletion(plan.steps, r.model) : aggregate(plan.steps);
      res.writeHead(200, { "content-type": contentType });
      if (plan.steps.some((st) => st.t === "partial"))
        return void res.end(cutBytes(JSON.stringify(full), "half").bytes);
      return void res.end(JSON.stringify(full));
    }

    res.writeHead(200, { "content-type": contentType, "x-mock-attempt": String(number) });
    res.flushHeaders();
    let index = 0;
    let firstOpenAi = true;
    const encode = (body: Json): string | null => {
      if (format === "sse") return sseEvent(body, s.spec);
      if (format === "json-stream") return jsonArrayElement(body, index++);
      const chunk = openAiChunk(body, r.model, firstOpenAi);
      if (chunk === null) return null;
      firstOpenAi = false;
      return sseEvent(chunk, s.spec);
    };
    for (const st of plan.steps) {
      if (gone()) return;
      if (st.t === "hold") {
        await this.store.passHold(s, gone);
        continue;
      }
      await delay(s.spec.chunkDelayMs ?? 0);
      if (gone()) return;
      if (st.t === "event") {
        const text = encode(st.body);
        if (text !== null) await write(text);
      } else if (st.t === "partial") {
        const text = format === "json-stream" ? jsonArrayElement(st.body, index) : sseEvent(st.body, s.spec);
        const cut = cutBytes(text, st.cut);
        if (cut.note) rec.notes.push(cut.note);
        await write(cut.bytes);
      } else if (st.t === "error") {
        const text =
          st.format === "raw" || format === "json-stream"
            ? (format === "json-stream" && index > 0 ? "\n,\r\n" : "") + rawErrorObject(st.error)
            : sseEvent({ error: st.error }, s.spec);
        await write(text);
      }
    }
    if (gone()) return;
    const clean = plan.end === "close" && !plan.steps.some((st) => st.t !== "event" && st.t !== "hold");
    const finished = plan.steps.some(
      (st) => st.t === "event" && JSON.stringify(st.body).includes('"finishReason"'),
    );
    if (clean && finished) {
      if (format === "json-stream") await write(index === 0 ? "[]" : JSON_ARRAY_END);
      if (format === "openai-stream") await write(`data: [DONE]${s.spec.sseSeparator ?? "\r\n\r\n"}`);
    }
    endConnection();
  }
}

export async function start(): Promise<RunningMock> {
  const mock = new GeminiMock();
  const port = await mock.listen();
  return { port, close: () => mock.close() };
}

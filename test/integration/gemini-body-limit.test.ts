/**
 * The body cap of the buffered routes (issue 11.3): every Gemini route that reads the whole request body refuses a
 * body over `BUFFERED_BODY_LIMIT_BYTES` with 413 in the gateway's error format, whether the body announces its
 * length (refused before any byte is read) or arrives chunked without one (refused as soon as the count passes the
 * cap). Nothing reaches the upstream.
 */
import { describe, expect, it } from "vitest";
import { BUFFERED_BODY_LIMIT_BYTES } from "../../src/durable/gemini-session/capped-body";
import { callGateway } from "./gateway";
import { mockOrigin, requests, scenario } from "./gemini-harness";

const CHUNK_BYTES = 1024 * 1024;

function vars(): Record<string, string> {
  return {
    ENDPOINTS: JSON.stringify({ gemini: { targets: [mockOrigin()], transport: "socket", gemini: true } }),
  };
}

/** A JSON-looking body of `total` bytes produced on demand; counts what the gateway pulled. */
function bigBody(total: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  const chunk = new Uint8Array(CHUNK_BYTES).fill(0x61);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        const head = new TextEncoder().encode('{"contents":[{"role":"user","parts":[{"text":"');
        sent += head.length;
        controller.enqueue(head);
        return;
      }
      if (sent >= total) return controller.close();
      const n = Math.min(CHUNK_BYTES, total - sent);
      sent += n;
      controller.enqueue(chunk.slice(0, n));
    },
  });
  return { stream, pulled: () => sent };
}

const ROUTES = [
  ["streamGenerateContent", (id: string) => `/gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`],
  ["generateContent", (id: string) => `/gemini/v1beta/models/${id}:generateContent`],
  ["OpenAI-compatible chat", (_id: string) => "/gemini/v1beta/openai/chat/completions"],
] as const;

async function expectTooLarge(response: Response): Promise<void> {
  expect(response.status).toBe(413);
  expect(response.headers.get("x-proxy-error")).toBe("request_body_too_large");
  const body = (await response.json()) as {
    error: { code: number; status: string; message: string; request_id: string };
  };
  expect(body.error.code).toBe(413);
  expect(body.error.status).toBe("OUT_OF_RANGE");
  expect(body.error.message).toContain(`at most ${BUFFERED_BODY_LIMIT_BYTES} bytes`);
  expect(body.error.request_id).toMatch(/.+/);
}

describe("buffered Gemini routes cap the request body", () => {
  for (const [name, path] of ROUTES) {
    it(`${name}: a declared Content-Length over the cap is refused before reading`, async () => {
      const id = await scenario({ answer: "never" });
      const total = BUFFERED_BODY_LIMIT_BYTES + 1;
      const { stream, pulled } = bigBody(total);
      const { response } = await callGateway(
        path(id),
        {
          method: "POST",
          body: stream,
          headers: {
            "content-type": "application/json",
            "content-length": String(total),
            "x-goog-api-key": "k",
          },
        },
        vars(),
      );
      await expectTooLarge(response);
      // At most what the stream queued on its own before the gateway looked at the length.
      expect(pulled()).toBeLessThan(CHUNK_BYTES);
      expect(await requests(id, 0, false)).toHaveLength(0);
    });

    it(`${name}: a chunked body without a length is refused once it passes the cap`, async () => {
      const id = await scenario({ answer: "never" });
      const { stream, pulled } = bigBody(BUFFERED_BODY_LIMIT_BYTES + 8 * CHUNK_BYTES);
      const { response } = await callGateway(
        path(id),
        {
          method: "POST",
          body: stream,
          headers: { "content-type": "application/json", "x-goog-api-key": "k" },
        },
        vars(),
      );
      await expectTooLarge(response);
      // The read stopped at the cap instead of taking the rest (8 MiB more were there): what was pulled beyond it is
      // the few chunks the pipe to the session object reads ahead.
      expect(pulled()).toBeLessThanOrEqual(BUFFERED_BODY_LIMIT_BYTES + 4 * CHUNK_BYTES);
      expect(await requests(id, 0, false)).toHaveLength(0);
    });
  }
});

/**
 * TLS for real (issue 11.13, DESIGN §9): workerd trusts this run's test CA (`NODE_EXTRA_CA_CERTS`, set by
 * `vitest.config.ts`), and the `tls` mocks terminate TLS with certificates from it (or from a CA nobody
 * trusts, or for another host name) in front of the echo, Gemini and WebSocket mocks. The socket path is
 * told from fetch at the upstream: workerd stamps `cf-worker` on every fetch, never on our socket writes.
 */
import { describe, expect, it } from "vitest";
import type { SocketAttempt } from "../../src/transport/egress-policy";
import { UpstreamConnectError, UpstreamTlsError } from "../../src/transport/errors";
import { openSocket } from "../../src/transport/socket-connect";
import { sendViaSocket } from "../../src/transport/socket-http";
import { DEFAULT_EGRESS_TIMEOUTS } from "../../src/transport/timeouts";
import type { RecordedRequest } from "../mocks/gemini-store";
import type { WsConnectionLog } from "../mocks/ws.mock";
import { echoReport, gateway, headerNames, mockPort } from "./gateway";
import { ANSWER, answerText, finishReasons, readSse, scenario } from "./gemini-harness";
import { RelayClient, wsMockLog } from "./ws-client";

const TOKEN = "tls-token-0123456789";
const generic = (port: number, rest: string) => `/${TOKEN}/https/127.0.0.1:${port}${rest}`;

interface TlsCounts {
  accepted: Record<string, number>;
  secured: Record<string, number>;
}

async function tlsCounts(): Promise<TlsCounts> {
  return (await (await fetch(`http://127.0.0.1:${mockPort("tls.control")}/connections`)).json()) as TlsCounts;
}

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: { code: number; status: string; message: string } };
  expect(body.error.code).toBe(response.status);
  return body.error;
}

describe("HTTPS over the socket path", () => {
  it("an HTTPS preset reaches a TLS upstream over the socket, identifying headers dropped", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const ENDPOINTS = JSON.stringify({
        tlsecho: { targets: [`https://${host}:${mockPort("tls")}/base`], transport: "socket" },
      });
      const response = await gateway(
        "/tlsecho/v1/models?x=1",
        { headers: { "x-forwarded-for": "203.0.113.9", "x-api-key": "k" } },
        { ENDPOINTS },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("x-proxy-transport")).toBe("socket");
      expect(response.headers.get("x-proxy-fallback")).toBeNull();
      const report = await echoReport(response);
      expect(report.url).toBe("/base/v1/models?x=1");
      expect(headerNames(report)).not.toContain("cf-worker");
      expect(headerNames(report)).not.toContain("x-forwarded-for");
      expect(report.headers).toContainEqual(["host", `${host}:${mockPort("tls")}`]);
      expect(report.headers).toContainEqual(["x-api-key", "k"]);
    }
  });

  it("the generic https route sends over the socket and streams a body both ways", async () => {
    const body = "x".repeat(300_000);
    const response = await gateway(
      generic(mockPort("tls"), "/v1/upload?mock_header=x-seen:yes"),
      { method: "POST", body, headers: { "content-type": "text/plain" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    expect(response.headers.get("x-seen")).toBe("yes");
    const report = await echoReport(response);
    expect(report.method).toBe("POST");
    expect(report.body_length).toBe(body.length);
    expect(headerNames(report)).not.toContain("cf-worker");
  });

  it("relays a streamed (SSE) answer over TLS", async () => {
    const response = await gateway(generic(mockPort("tls"), "/sse?mock_sse=20"), {}, { AUTH_TOKEN: TOKEN });
    expect(response.headers.get("x-proxy-transport")).toBe("socket");
    const text = await response.text();
    expect(text.match(/^data: \{"index":\d+\}$/gm)).toHaveLength(20);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});

describe("certificate failures and broken handshakes", () => {
  it.each([
    ["a certificate from an untrusted CA", "tls.untrusted", "untrusted"],
    ["a certificate for another host name", "tls.wronghost", "wronghost"],
  ])(
    "%s: 502 upstream_tls_failed naming the certificate, no request byte delivered",
    async (_n, port, label) => {
      const before = await tlsCounts();
      const response = await gateway(generic(mockPort(port), "/v1/x"), {}, { AUTH_TOKEN: TOKEN });
      expect(response.status).toBe(502);
      expect(response.headers.get("x-proxy-error")).toBe("upstream_tls_failed");
      const error = await errorOf(response);
      expect(error.status).toBe("UNAVAILABLE");
      expect(error.message).toContain(`TLS handshake with 127.0.0.1:${mockPort(port)} failed`);
      expect(error.message).toContain("certificate was not accepted");
      // The fetch fallback ran (nothing had been sent) and refused the certificate the same way.
      expect(error.message).toContain("the fetch fallback failed too");
      const after = await tlsCounts();
      expect(after.secured[label] ?? 0).toBe(before.secured[label] ?? 0);
      // socket attempt + the plain-TCP probe that tells TLS from TCP + the fetch fallback
      expect((after.accepted[label] ?? 0) - (before.accepted[label] ?? 0)).toBeGreaterThanOrEqual(3);
    },
  );

  it("a fetch-transport preset refuses the same certificate (no request byte delivered)", async () => {
    const before = await tlsCounts();
    const ENDPOINTS = JSON.stringify({
      badcert: { targets: [`https://127.0.0.1:${mockPort("tls.untrusted")}`], transport: "fetch" },
    });
    const response = await gateway("/badcert/v1/x", {}, { ENDPOINTS });
    expect(response.status).toBe(502);
    expect((await tlsCounts()).secured.untrusted ?? 0).toBe(before.secured.untrusted ?? 0);
  });

  it("a server that resets mid-handshake: 502 upstream_tls_failed after the fetch fallback failed too", async () => {
    const response = await gateway(
      generic(mockPort("tls.handshake_reset"), "/v1/x"),
      {},
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(502);
    expect(response.headers.get("x-proxy-error")).toBe("upstream_tls_failed");
    const error = await errorOf(response);
    expect(error.message).toContain("broke off the handshake");
    expect(error.message).toContain("the fetch fallback failed too");
  });

  it("sendViaSocket reports a failed connect as the connect's typed error, with nothing written", async () => {
    const send = async (url: string) => {
      const attempt: SocketAttempt = { wroteRequest: false, receivedResponse: false };
      const error = await sendViaSocket(
        {
          method: "POST",
          url,
          headers: new Headers({ "content-type": "application/json" }),
          body: new TextEncoder().encode('{"q":1}'),
        },
        { ...DEFAULT_EGRESS_TIMEOUTS, connectTimeoutMs: 5_000 },
        { attempt },
      ).then(
        () => null,
        (e: unknown) => e,
      );
      return { error, attempt };
    };
    const tls = await send(`https://127.0.0.1:${mockPort("tls.wronghost")}/v1/x`);
    expect(tls.error).toBeInstanceOf(UpstreamTlsError);
    expect(tls.error).toMatchObject({ phase: "before_write" });
    expect(tls.attempt).toEqual({ wroteRequest: false, receivedResponse: false });
    for (const scheme of ["https", "http"]) {
      const refused = await send(`${scheme}://127.0.0.1:${mockPort("rawtcp.refused")}/v1/x`);
      expect(refused.error).toBeInstanceOf(UpstreamConnectError);
      expect(refused.error).not.toBeInstanceOf(UpstreamTlsError);
      expect(refused.error).toMatchObject({ phase: "before_write", reason: "upstream_connect_failed" });
      expect(refused.attempt.wroteRequest).toBe(false);
    }
  });

  it("openSocket tells a failed TLS handshake from a refused connection", async () => {
    const tls = await openSocket(new URL(`https://127.0.0.1:${mockPort("tls.wronghost")}/`), {
      connectTimeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(tls).toBeInstanceOf(UpstreamTlsError);
    expect((tls as UpstreamTlsError).phase).toBe("before_write");
    const refused = await openSocket(new URL(`https://127.0.0.1:${mockPort("rawtcp.refused")}/`), {
      connectTimeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamConnectError);
    expect(refused).not.toBeInstanceOf(UpstreamTlsError);
    expect((refused as UpstreamConnectError).reason).toBe("upstream_connect_failed");
    const ok = await openSocket(new URL(`https://localhost:${mockPort("tls")}/`), {
      connectTimeoutMs: 5_000,
    });
    await ok.close();
  });
});

describe("wss relays over TLS", () => {
  it("relays a generic wss upgrade over the socket, messages both ways", async () => {
    const response = await gateway(
      `/${TOKEN}/wss/127.0.0.1:${mockPort("tls.ws")}/echo?id=tls-wss`,
      { headers: { upgrade: "websocket", "x-forwarded-for": "203.0.113.9" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(101);
    const c = new RelayClient(response);
    c.ws.send("over tls ✓");
    expect(await c.nextText()).toBe("over tls ✓");
    c.ws.send(new Uint8Array([1, 2, 3]));
    expect([...(await c.nextBinary())]).toEqual([1, 2, 3]);
    c.ws.close(4001, "tls bye");
    expect(await c.closed).toEqual({ code: 4001, reason: "tls bye" });
    const log = await wsMockLog<WsConnectionLog>("log", "tls-wss", true);
    expect(log.closeCode).toBe(4001);
    const names = log.headers.map(([n]) => n);
    expect(names).not.toContain("cf-worker"); // our own RFC 6455 client, not the fetch fallback
    expect(names).not.toContain("x-forwarded-for");
  });

  it("a wss upstream with an untrusted certificate: 502 upstream_tls_failed before any 101", async () => {
    const before = await tlsCounts();
    const response = await gateway(
      `/${TOKEN}/wss/127.0.0.1:${mockPort("tls.untrusted")}/echo?id=tls-wss-bad`,
      { headers: { upgrade: "websocket" } },
      { AUTH_TOKEN: TOKEN },
    );
    expect(response.status).toBe(502);
    expect(response.headers.get("x-proxy-error")).toBe("upstream_tls_failed");
    const error = await errorOf(response);
    expect(error.message).toContain("certificate was not accepted");
    expect((await tlsCounts()).secured.untrusted ?? 0).toBe(before.secured.untrusted ?? 0);
  });
});

describe("Gemini sessions over TLS", () => {
  it("streamGenerateContent through an https gemini endpoint: a cut stream is continued over TLS", async () => {
    const id = await scenario({ answer: ANSWER, attempts: [{ kind: "cut", afterChars: 120 }] });
    const ENDPOINTS = JSON.stringify({
      gemini: { targets: [`https://127.0.0.1:${mockPort("tls.gemini")}`], gemini: true, transport: "socket" },
    });
    const response = await gateway(
      `/gemini/v1beta/models/${id}:streamGenerateContent?alt=sse`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": "test-key" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Tell me a story." }] }] }),
      },
      { ENDPOINTS },
    );
    expect(response.status).toBe(200);
    const { events } = await readSse(response);
    expect(answerText(events)).toBe(ANSWER);
    expect(finishReasons(events)).toEqual(["STOP"]);
    const res = await fetch(
      `http://127.0.0.1:${mockPort("gemini")}/__scenarios/${id}/requests?min=2&ended=1&timeoutMs=10000`,
    );
    const reqs = ((await res.json()) as { requests: RecordedRequest[] }).requests.filter(
      (r) => r.attempt !== null,
    );
    expect(reqs).toHaveLength(2);
    for (const r of reqs) {
      expect(r.headers["cf-worker"]).toBeUndefined();
      expect(r.headers.host).toBe(`127.0.0.1:${mockPort("tls.gemini")}`);
    }
  });
});

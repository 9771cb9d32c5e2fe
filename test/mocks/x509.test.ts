import { X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import { describe, expect, it } from "vitest";
import { createTlsMaterial, WRONG_HOST_NAME } from "./tls-material";
import { TestCa } from "./x509";

const material = createTlsMaterial();

/** Handshakes with a Node TLS server presenting `cert`; resolves with the client's verdict. */
async function handshake(
  cert: { cert: string; key: string },
  opts: { ca: string; host: string; servername?: string },
): Promise<string> {
  const server = createServer({ cert: cert.cert, key: cert.key }, (s) => s.end());
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: opts.host, port, ca: [opts.ca], servername: opts.servername });
      socket.once("secureConnect", () => {
        resolve("authorized");
        socket.destroy();
      });
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

describe("test certificates (our DER writer, read back by Node's X.509 parser)", () => {
  it("makes a self-signed CA with the CA flag", () => {
    const ca = new X509Certificate(material.trustedCa);
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.subject).toContain("CN=llm-gateway test CA");
    expect(ca.issuer).toBe(ca.subject);
  });

  it("issues a server certificate for localhost and 127.0.0.1, signed by the CA, valid now", () => {
    const ca = new X509Certificate(material.trustedCa);
    const leaf = new X509Certificate(material.server.cert);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkHost("example.com")).toBeUndefined();
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]); // serverAuth
    const now = Date.now();
    expect(Date.parse(leaf.validFrom)).toBeLessThan(now);
    expect(Date.parse(leaf.validTo)).toBeGreaterThan(now);
  });

  it("writes dates after 2049 as GeneralizedTime", () => {
    const ca = TestCa.create("future CA", new Date("2060-01-02T03:04:05Z"), 1);
    const cert = new X509Certificate(ca.cert);
    expect(new Date(cert.validTo).toISOString()).toBe("2060-01-03T03:04:05.000Z");
  });

  it("the untrusted and wrong-host certificates are what their names say", () => {
    const trusted = new X509Certificate(material.trustedCa);
    const untrustedLeaf = new X509Certificate(material.untrustedServer.cert);
    expect(untrustedLeaf.checkIssued(trusted)).toBe(false);
    expect(untrustedLeaf.checkIssued(new X509Certificate(material.untrustedCa))).toBe(true);
    const wrong = new X509Certificate(material.wrongHost.cert);
    expect(wrong.checkIssued(trusted)).toBe(true);
    expect(wrong.checkHost("localhost")).toBeUndefined();
    expect(wrong.checkIP("127.0.0.1")).toBeUndefined();
    expect(wrong.checkHost(WRONG_HOST_NAME)).toBe(WRONG_HOST_NAME);
  });

  it("a real TLS client (Node's OpenSSL) accepts the good certificate and refuses the others", async () => {
    const ca = material.trustedCa;
    expect(await handshake(material.server, { ca, host: "127.0.0.1" })).toBe("authorized");
    expect(await handshake(material.server, { ca, host: "127.0.0.1", servername: "localhost" })).toBe(
      "authorized",
    );
    expect(await handshake(material.untrustedServer, { ca, host: "127.0.0.1" })).toBe(
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    );
    expect(await handshake(material.wrongHost, { ca, host: "127.0.0.1" })).toBe(
      "ERR_TLS_CERT_ALTNAME_INVALID",
    );
  });
});

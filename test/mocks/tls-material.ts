/**
 * The TLS material of one test run, made at test time (no key material is committed): a CA that workerd
 * trusts, a server certificate for `localhost` and 127.0.0.1 from it, a second CA that nobody trusts
 * with the same kind of server certificate, and a certificate from the trusted CA for another host name.
 *
 * How workerd comes to trust the CA: `wrangler dev` and the workerd that `@cloudflare/vitest-plugin`
 * spawns read the PEM file named by `NODE_EXTRA_CA_CERTS` for outbound TLS (fetch and `connect()` with
 * `secureTransport: "on"`). `ensureTestTls()` writes the material to a private temp directory and sets
 * that variable (and `GATEWAY_TEST_TLS_DIR`) in this process's environment; it must run before workerd
 * is spawned, which is why `vitest.config.ts` calls it while loading. Later calls in the same process
 * or in a child that inherited the environment (the mock servers, `wrangler dev`) reuse the same files,
 * so the servers present exactly what workerd trusts. The directory is removed when the process that
 * created it exits.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Issued, TestCa } from "./x509";

export const TLS_DIR_ENV = "GATEWAY_TEST_TLS_DIR";
const MATERIAL_FILE = "material.json";
const CA_BUNDLE_FILE = "trusted-ca.pem";

/** The names the good certificates carry. */
export const TLS_HOST_NAMES = ["localhost"];
export const TLS_IP_ADDRESSES = ["127.0.0.1"];
/** The only name on the wrong-host certificate (`.invalid` never resolves, RFC 2606). */
export const WRONG_HOST_NAME = "wrong-host.invalid";

export interface TlsMaterial {
  /** PEM of the CA workerd trusts. */
  trustedCa: string;
  /** localhost/127.0.0.1, issued by the trusted CA. */
  server: Issued;
  /** PEM of a CA nobody trusts. */
  untrustedCa: string;
  /** localhost/127.0.0.1, issued by the untrusted CA. */
  untrustedServer: Issued;
  /** Only `WRONG_HOST_NAME`, issued by the trusted CA. */
  wrongHost: Issued;
}

export function createTlsMaterial(now = new Date()): TlsMaterial {
  const trusted = TestCa.create("llm-gateway test CA", now);
  const untrusted = TestCa.create("llm-gateway untrusted CA", now);
  const good = { commonName: "localhost", dnsNames: TLS_HOST_NAMES, ipAddresses: TLS_IP_ADDRESSES };
  return {
    trustedCa: trusted.cert,
    server: trusted.issue(good, now),
    untrustedCa: untrusted.cert,
    untrustedServer: untrusted.issue(good, now),
    wrongHost: trusted.issue({ commonName: WRONG_HOST_NAME, dnsNames: [WRONG_HOST_NAME] }, now),
  };
}

/**
 * Returns this run's material, creating it (and setting `NODE_EXTRA_CA_CERTS`) on the first call.
 * An operator's own `NODE_EXTRA_CA_CERTS` is kept: its certificates go into the bundle too.
 */
export function ensureTestTls(): TlsMaterial {
  const existing = process.env[TLS_DIR_ENV];
  if (existing && existsSync(join(existing, MATERIAL_FILE))) {
    return JSON.parse(readFileSync(join(existing, MATERIAL_FILE), "utf8")) as TlsMaterial;
  }
  const material = createTlsMaterial();
  const dir = mkdtempSync(join(tmpdir(), "gateway-test-tls-")); // mode 0700
  const inherited = process.env.NODE_EXTRA_CA_CERTS;
  const extra = inherited && existsSync(inherited) ? readFileSync(inherited, "utf8") : "";
  writeFileSync(join(dir, MATERIAL_FILE), JSON.stringify(material), { mode: 0o600 });
  writeFileSync(join(dir, CA_BUNDLE_FILE), `${extra.trimEnd()}\n${material.trustedCa}`.trimStart());
  process.env[TLS_DIR_ENV] = dir;
  process.env.NODE_EXTRA_CA_CERTS = join(dir, CA_BUNDLE_FILE);
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return material;
}

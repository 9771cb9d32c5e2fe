/**
 * Just enough X.509 to make test certificates at test time, synchronously, with no dependency: keys
 * and signatures come from Node's crypto (ECDSA P-256 / SHA-256), and this file writes the DER around
 * them (RFC 5280: version 3, a serial, names, validity, the key, and the extensions a TLS client
 * checks: basic constraints, key usage, extended key usage, subject alternative names, key ids).
 *
 * Why our own writer: the Vitest config must have the CA on disk before the plugin spawns workerd, so
 * generation has to be synchronous (WebCrypto-based generators are async); `openssl` is not promised on
 * a fresh CI machine; and a DER subset for certificates is small. Node's `X509Certificate` parses the
 * output back in the unit test, which checks every field that matters.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

// --- DER primitives -----------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octetString = (bytes: Buffer) => tlv(0x04, bytes);
const utf8String = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));
const boolean = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** `[n] EXPLICIT` (constructed, context-specific). */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes (a leading 0x00 keeps a high first bit positive). */
function unsignedInteger(bytes: Buffer): Buffer {
  let at = 0;
  while (at < bytes.length - 1 && bytes[at] === 0) at++;
  const trimmed = bytes.subarray(at);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** A BIT STRING whose content is whole bytes (signatures). */
const bitStringBytes = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes);

/** A BIT STRING of named bits (key usage): bit 0 is the first byte's most significant bit. */
function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const out = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) out[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.from([unused]), out);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-06T20:32:08.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "ascii"))
    : tlv(0x18, Buffer.from(`${digits}Z`, "ascii"));
}

// --- certificates -------------------------------------------------------------------------------

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

/** Key usage bit numbers (RFC 5280 §4.2.1.3). */
const DIGITAL_SIGNATURE = 0;
const KEY_CERT_SIGN = 5;
const CRL_SIGN = 6;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateSubject {
  commonName: string;
  /** DNS names for the subject alternative name extension. */
  dnsNames?: string[];
  /** IPv4 addresses for the subject alternative name extension. */
  ipAddresses?: string[];
}

export interface Issued {
  /** PEM of the certificate. */
  cert: string;
  /** PKCS#8 PEM of its private key. */
  key: string;
}

interface Signer {
  name: Buffer;
  key: KeyObject;
  keyId: Buffer;
}

function name(commonName: string): Buffer {
  return sequence(
    set(sequence(oid(OID.organization), utf8String("llm-gateway tests"))),
    set(sequence(oid(OID.commonName), utf8String(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function ipv4(address: string): Buffer {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return Buffer.from(parts);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function build(opts: {
  subject: Buffer;
  publicKey: KeyObject;
  signer: Signer | null;
  ownKey: KeyObject;
  extensions: Buffer[];
  now: Date;
  validDays: number;
}): Buffer {
  const spki = opts.publicKey.export({ type: "spki", format: "der" });
  const keyId = createHash("sha1").update(spki).digest();
  const signer = opts.signer ?? { name: opts.subject, key: opts.ownKey, keyId };
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    signer.name,
    sequence(
      time(new Date(opts.now.getTime() - DAY_MS)),
      time(new Date(opts.now.getTime() + opts.validDays * DAY_MS)),
    ),
    opts.subject,
    spki,
    explicit(
      3,
      sequence(
        ...opts.extensions,
        extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
        extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, signer.keyId))),
      ),
    ),
  );
  // Node signs EC keys with a DER-encoded ECDSA-Sig-Value, the form X.509 carries.
  const signature = sign("sha256", tbs, signer.key);
  return sequence(tbs, algorithm, bitStringBytes(signature));
}

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

/** A certificate authority that can issue server certificates. */
export class TestCa {
  readonly cert: string;
  readonly key: string;
  readonly #signer: Signer;

  private constructor(cert: string, key: string, signer: Signer) {
    this.cert = cert;
    this.key = key;
    this.#signer = signer;
  }

  static create(commonName: string, now = new Date(), validDays = 30): TestCa {
    const { privateKey, publicKey } = newKey();
    const subject = name(commonName);
    const der = build({
      subject,
      publicKey,
      signer: null,
      ownKey: privateKey,
      now,
      validDays,
      extensions: [
        extension(OID.basicConstraints, true, sequence(boolean(true))),
        extension(OID.keyUsage, true, namedBits([KEY_CERT_SIGN, CRL_SIGN])),
      ],
    });
    const spki = publicKey.export({ type: "spki", format: "der" });
    const signer = { name: subject, key: privateKey, keyId: createHash("sha1").update(spki).digest() };
    return new TestCa(
      pem("CERTIFICATE", der),
      privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      signer,
    );
  }

  /** A TLS server certificate for the given names, signed by this CA. */
  issue(subject: CertificateSubject, now = new Date(), validDays = 30): Issued {
    const { privateKey, publicKey } = newKey();
    const names = [
      ...(subject.dnsNames ?? []).map((dns) => tlv(0x82, Buffer.from(dns, "ascii"))), // [2] dNSName
      ...(subject.ipAddresses ?? []).map((ip) => tlv(0x87, ipv4(ip))), // [7] iPAddress
    ];
    const der = build({
      subject: name(subject.commonName),
      publicKey,
      signer: this.#signer,
      ownKey: privateKey,
      now,
      validDays,
      extensions: [
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, namedBits([DIGITAL_SIGNATURE])),
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        ...(names.length > 0 ? [extension(OID.subjectAltName, false, sequence(...names))] : []),
      ],
    });
    return {
      cert: pem("CERTIFICATE", der),
      key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    };
  }
}

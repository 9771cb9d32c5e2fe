/**
 * The test suite's TLS material (`test/mocks/tls-material.ts`: a CA made at run time, a server
 * certificate for localhost/127.0.0.1) loaded into plain Node for the bench: imported through
 * `importTypeScript` (its modules import each other without extensions). `ensureTestTls()` sets `NODE_EXTRA_CA_CERTS`
 * in this process, so a workerd started afterwards trusts the CA.
 */
import { join } from "node:path";
import { importTypeScript } from "./ts-module.mjs";
import { REPO_DIR } from "./workerd.mjs";

export async function ensureBenchTls() {
  const { ensureTestTls } = await importTypeScript(join(REPO_DIR, "test/mocks/tls-material.ts"));
  return ensureTestTls();
}

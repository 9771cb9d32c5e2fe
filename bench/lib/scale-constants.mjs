/**
 * The batching constants of `src/durable/health/health-snapshot.ts`, read from the source so the simulation
 * and the model always use what the gateway ships (the module itself imports Worker-only types).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_DIR } from "./workerd.mjs";

const source = readFileSync(join(REPO_DIR, "src/durable/health/health-snapshot.ts"), "utf8");

function constant(name) {
  const match = new RegExp(`export const ${name} = ([\\d_]+);`).exec(source);
  if (!match) throw new Error(`${name} not found in health-snapshot.ts`);
  return Number(match[1].replaceAll("_", ""));
}

export const SNAPSHOT_TTL_MS = constant("SNAPSHOT_TTL_MS");
export const REPORT_BATCH_DELAY_MS = constant("REPORT_BATCH_DELAY_MS");
export const MAX_SYNC_ROUNDS = constant("MAX_SYNC_ROUNDS");

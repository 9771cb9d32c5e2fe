import type { UsageMetadata } from "./types";

/**
 * Usage policy: the client is told what the whole repaired generation cost, i.e. the sum over all attempts of each
 * attempt's final `usageMetadata` (Gemini reports cumulative usage per chunk, so an attempt's last report is its
 * total). `promptTokenCount` therefore grows with every continuation, since each one re-sends the conversation plus the
 * partial answer — that is what Google bills. An attempt cut before it reported usage contributes nothing (its cost
 * is unknown to us). Per-modality detail lists are summed per modality.
 */
export function sumUsage(reports: readonly UsageMetadata[]): UsageMetadata | undefined {
  if (reports.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const report of reports) {
    for (const [key, value] of Object.entries(report)) {
      const prev = out[key];
      if (typeof value === "number") {
        out[key] = (typeof prev === "number" ? prev : 0) + value;
      } else if (Array.isArray(value) && key.endsWith("Details")) {
        out[key] = mergeDetails(Array.isArray(prev) ? prev : [], value);
      } else if (prev === undefined) {
        out[key] = value;
      }
    }
  }
  return out as UsageMetadata;
}

function mergeDetails(prev: unknown[], next: unknown[]): unknown[] {
  const byModality = new Map<string, { modality: string; tokenCount: number }>();
  for (const item of [...prev, ...next]) {
    if (typeof item !== "object" || item === null) continue;
    const { modality, tokenCount } = item as { modality?: unknown; tokenCount?: unknown };
    if (typeof modality !== "string") continue;
    const entry = byModality.get(modality) ?? { modality, tokenCount: 0 };
    entry.tokenCount += typeof tokenCount === "number" ? tokenCount : 0;
    byModality.set(modality, entry);
  }
  return [...byModality.values()];
}

/**
 * Sums usage reports across repair attempts, whatever the format: numbers are added, nested objects
 * (`completion_tokens_details`, `cache_creation`…) summed field by field, anything else kept from the first report
 * that has it. Each attempt's report is its total, so the sum is what the provider billed for the whole repaired
 * answer: input tokens grow with every continuation, since each one re-sends the conversation and the partial answer.
 * An attempt cut before it reported usage adds nothing (its cost is unknown to the gateway).
 */
export function sumUsageReports(reports: readonly Record<string, unknown>[]): Record<string, unknown> | null {
  if (reports.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const report of reports) addInto(out, report);
  return out;
}

function addInto(out: Record<string, unknown>, report: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(report)) {
    const prev = out[key];
    if (typeof value === "number") {
      out[key] = (typeof prev === "number" ? prev : 0) + value;
    } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const into =
        typeof prev === "object" && prev !== null && !Array.isArray(prev)
          ? (prev as Record<string, unknown>)
          : {};
      addInto(into, value as Record<string, unknown>);
      out[key] = into;
    } else if (prev === undefined) {
      out[key] = value;
    }
  }
}

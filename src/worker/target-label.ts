/**
 * How a target is named outside the gateway's configuration (`/health`, `/metrics`), pure. A target's
 * base path may carry an account id or a key-like segment, so, as on the dashboard (which shows the
 * host only), it is never shown: a target is named by its origin, with `/…` marking a hidden base path,
 * and `#n` (its position in the endpoint's list) when two targets would otherwise read the same.
 */

const HIDDEN_PATH = "/…";

function originLabel(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Config parsing only lets absolute URLs through; never echo an unparseable one.
    return "[invalid target URL]";
  }
  const hasBasePath = parsed.pathname !== "/" && parsed.pathname !== "";
  return hasBasePath ? `${parsed.origin}${HIDDEN_PATH}` : parsed.origin;
}

/** Public names of an endpoint's targets, in configuration order; distinct whenever the URLs are. */
export function publicTargetLabels(urls: readonly string[]): string[] {
  const labels = urls.map(originLabel);
  const seen = new Map<string, number>();
  for (const label of labels) seen.set(label, (seen.get(label) ?? 0) + 1);
  return labels.map((label, i) => ((seen.get(label) ?? 0) > 1 ? `${label}#${i + 1}` : label));
}

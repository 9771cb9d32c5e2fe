/**
 * `GET /`: the dashboard (DESIGN §4, issue 7). A self-contained page: inline style and script allowed
 * only through a per-response CSP nonce, no external assets, `connect-src 'self'` so the only request
 * the page can make is to this gateway's `/health`.
 */
import type { GatewayContext } from "./context";
import { renderPage } from "./dashboard-html";
import { type Lang, pickLanguage } from "./dashboard-i18n";
import { buildDashboardModel } from "./dashboard-model";
import { buildUsageExamples } from "./dashboard-usage";

/** How often the page polls `/health` (the client accepts `?poll=<ms>` ≥ 500 for tests and demos). */
export const HEALTH_POLL_INTERVAL_MS = 5_000;
const NONCE_BYTES = 16;

/** A fresh base64 nonce; `random` is injectable for tests. */
export function createNonce(
  random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  const bytes = random(new Uint8Array(NONCE_BYTES));
  return btoa(String.fromCharCode(...bytes));
}

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    // The favicon is an inline SVG data URL, so the browser never asks for /favicon.ico.
    "img-src data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** `?lang=zh|en` wins over `Accept-Language` (handy for links and tests). */
export function dashboardLanguage(url: URL, acceptLanguage: string | null): Lang {
  const forced = url.searchParams.get("lang");
  return forced === "zh" || forced === "en" ? forced : pickLanguage(acceptLanguage);
}

export function renderDashboard(g: GatewayContext, nonce: string = createNonce()): Response {
  g.log.route = "dashboard";
  const model = buildDashboardModel(g.config);
  const lang = dashboardLanguage(g.url, g.raw.headers.get("accept-language"));
  const html = renderPage(model, buildUsageExamples(model), {
    lang,
    nonce,
    origin: g.url.origin,
    pollIntervalMs: HEALTH_POLL_INTERVAL_MS,
  });
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": contentSecurityPolicy(nonce),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      "cache-control": "no-store",
      vary: "accept-language",
    },
  });
}

/**
 * The goals of issue 13, each judged from one bench run's results: the figure, its goal, and whether
 * the run met it. Timing goals are judged here, never by assertions in tests.
 */

/** Rows `{ figure, value, goal, met }`; a figure the run did not measure says so instead of a number. */
export function goalRows(r) {
  const rows = [];
  const lat = r.latency?.socket_preset;
  rows.push({
    figure: "added p50, small JSON, socket preset, c=1 (÷ the floor's added p50)",
    value: lat?.added_p50_vs_floor ?? null,
    unit: "×",
    goal: "≤ 1.5×",
    met: lat?.added_p50_vs_floor != null ? lat.added_p50_vs_floor <= 1.5 : null,
  });
  for (const side of ["socket_preset", "fetch_preset", "generic"]) {
    const t = r.throughput?.c32?.[side];
    rows.push({
      figure: `req/s at c=32, ${side.replace("_", " ")} (÷ the floor's)`,
      value: t?.ratio_to_floor ?? null,
      unit: "×",
      goal: "≥ 0.7×",
      met: t?.ratio_to_floor != null ? t.ratio_to_floor >= 0.7 : null,
    });
  }
  const g = r.gemini_first_event;
  rows.push({
    figure: "Gemini time to first event: session − plain socket preset",
    value: g?.session_minus_plain_ms ?? null,
    unit: "ms",
    goal: "≤ 5 ms",
    met: g?.session_minus_plain_ms != null ? g.session_minus_plain_ms <= 5 : null,
  });
  const m = r.protected_memory?.large;
  rows.push({
    figure: `peak memory of a protected request, ${m ? Math.round(m.body_bytes / 2 ** 20) : 24} MiB body (÷ body; goal set for 24 MiB)`,
    value: m?.ratio_to_body_max ?? null,
    unit: "×",
    goal: "≤ 2×",
    met: m?.ratio_to_body_max != null ? m.ratio_to_body_max <= 2 : null,
  });
  rows.push({
    figure: "the Portkey gateway (Node) beside us, same mock",
    value: null,
    unit: "",
    goal: "≥ 3× slower than us",
    met: null,
    note: "not measured: Portkey is not a dependency of this project",
  });
  return rows;
}

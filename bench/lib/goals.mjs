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
  // Beside the goals (not goals of the issue): the socket routes against the socket floor, a bare Worker that sends
  // the same request over connect(). The goals compare with the fetch floor, which opens no connection per request;
  // these rows show how much of the gap is the runtime's connect() and how much is our code.
  for (const side of ["socket_preset", "generic"]) {
    const label = side.replace("_", " ");
    rows.push({
      figure: `beside: added p50, ${label}, c=1 (÷ the socket floor's)`,
      value: r.latency?.[side]?.added_p50_vs_socket_floor ?? null,
      unit: "×",
      goal: "–",
      met: null,
    });
    rows.push({
      figure: `beside: req/s at c=32, ${label} (÷ the socket floor's)`,
      value: r.throughput?.c32?.[side]?.ratio_to_socket_floor ?? null,
      unit: "×",
      goal: "–",
      met: null,
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
  const pk = r.portkey;
  if (!pk || pk.skipped) {
    rows.push({
      figure: "the Portkey gateway (Node) beside us, same mock",
      value: null,
      unit: "",
      goal: "≥ 3× slower than us",
      met: null,
      note: `not measured: ${pk?.skipped ?? "no Portkey side in this run"}`,
    });
    return rows;
  }
  // Primary: our socket preset; the fetch preset is printed beside it. Both judged the same way.
  for (const side of OUR_ROUTES) {
    const label = side.replace("_", " ");
    rows.push({
      figure: `Portkey ${pk.version} added p50, c=1 ÷ ${label}'s added p50`,
      value: pk.added_p50_ratio[side],
      unit: "×",
      goal: "≥ 3×",
      met: pk.added_p50_ratio[side] != null ? pk.added_p50_ratio[side] >= PORTKEY_GOAL : null,
    });
  }
  for (const side of OUR_ROUTES) {
    const label = side.replace("_", " ");
    rows.push({
      figure: `req/s at c=32, ${label} ÷ Portkey ${pk.version}`,
      value: pk.rps_ratio.c32[side],
      unit: "×",
      goal: "≥ 3×",
      met: pk.rps_ratio.c32[side] != null ? pk.rps_ratio.c32[side] >= PORTKEY_GOAL : null,
    });
  }
  return rows;
}

/** "Portkey is at least this many times slower than us" (issue 13). */
const PORTKEY_GOAL = 3;
/** Our routes the Portkey side is compared with: the socket preset first (the goal's route), then fetch. */
const OUR_ROUTES = ["socket_preset", "fetch_preset"];

const ratio = (a, b) => (a != null && b != null && b > 0 ? Math.round((a / b) * 100) / 100 : null);

/**
 * How much slower Portkey was than our routes in this run (results.portkey): its added p50/p99 at c=1 ÷
 * ours (both over direct, same request, same mock, same rounds), our req/s ÷ its req/s at each
 * concurrency, and its Node process's CPU per request ÷ workerd's for ours. Above 1 = Portkey slower.
 */
export function portkeyComparison(r) {
  const lat = r.latency ?? {};
  const pkLat = lat.portkey;
  const out = { added_p50_ratio: {}, added_p99_ratio: {}, rps_ratio: {}, cpu_ratio: {} };
  for (const side of OUR_ROUTES) {
    out.added_p50_ratio[side] = ratio(pkLat?.added_p50_ms, lat[side]?.added_p50_ms);
    out.added_p99_ratio[side] = ratio(pkLat?.added_p99_ms, lat[side]?.added_p99_ms);
  }
  for (const [c, row] of Object.entries(r.throughput ?? {})) {
    out.rps_ratio[c] = {};
    out.cpu_ratio[c] = {};
    for (const side of OUR_ROUTES) {
      out.rps_ratio[c][side] = ratio(row[side]?.rps, row.portkey?.rps);
      out.cpu_ratio[c][side] = ratio(row.portkey?.cpu_ms_per_request, row[side]?.cpu_ms_per_request);
    }
  }
  return out;
}

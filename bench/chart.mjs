/**
 * Draws bench/chart.svg from a results object: hand-written SVG, no dependencies. Left panel: added
 * p50/p99 latency per side (ms over direct); right panel: throughput and transfer ratios (side ÷ direct).
 * `node bench/chart.mjs` redraws the chart from bench/results.json.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const W = 880;
const H = 400;
const COLORS = { p50: "#2f6fdf", p99: "#9bbcf2", floor: "#8a8a8a", gateway: "#e8793a" };
/** The next axis maximum whose quarters are round numbers. */
const niceCeiling = (v) =>
  [0.5, 1, 2, 4, 8, 12, 16, 20, 40, 80, 120, 200].find((n) => n >= v) ?? Math.ceil(v / 100) * 100;
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function text(x, y, s, attrs = "") {
  return `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`;
}

/** Horizontal grouped bars; `groups` = [{ label, bars: [{ value, color, label }] }]. */
function barPanel({ x, y, width, height, title, unit, groups, maxValue, reference }) {
  const labelW = 170;
  const plotW = width - labelW - 50;
  const rowH = height / groups.length;
  const scale = (v) => (Math.max(0, v) / maxValue) * plotW;
  const parts = [text(x, y - 12, title, 'font-weight="600" font-size="13"')];
  for (let t = 0; t <= 4; t++) {
    const gx = x + labelW + (plotW * t) / 4;
    parts.push(`<line x1="${gx}" y1="${y}" x2="${gx}" y2="${y + height}" stroke="#e3e3e3"/>`);
    parts.push(
      text(
        gx,
        y + height + 14,
        `${((maxValue * t) / 4).toFixed(maxValue < 4 ? 2 : 1)}${unit}`,
        'font-size="10" text-anchor="middle" fill="#666"',
      ),
    );
  }
  if (reference !== undefined) {
    const rx = x + labelW + scale(reference);
    parts.push(
      `<line x1="${rx}" y1="${y - 4}" x2="${rx}" y2="${y + height}" stroke="#333" stroke-dasharray="3,3"/>`,
    );
  }
  groups.forEach((group, i) => {
    const gy = y + i * rowH;
    parts.push(text(x + labelW - 8, gy + rowH / 2 + 4, group.label, 'font-size="11" text-anchor="end"'));
    const barH = Math.min(12, (rowH - 6) / group.bars.length);
    group.bars.forEach((bar, j) => {
      const by = gy + (rowH - barH * group.bars.length) / 2 + j * barH;
      const bw = scale(bar.value ?? 0);
      parts.push(
        `<rect x="${x + labelW}" y="${by}" width="${bw.toFixed(1)}" height="${barH - 1}" fill="${bar.color}"/>`,
      );
      parts.push(text(x + labelW + bw + 4, by + barH - 2, bar.label, 'font-size="9.5" fill="#333"'));
    });
  });
  return parts.join("\n");
}

export function renderChart(r) {
  const lat = r.latency;
  const latSides = ["floor", "socket_preset", "fetch_preset", "generic", "portkey"].filter((k) => lat[k]);
  const latNames = {
    floor: "floor (bare Worker)",
    socket_preset: "socket preset",
    fetch_preset: "fetch preset",
    generic: "generic route",
    portkey: "Portkey (Node)",
  };
  const latMax = niceCeiling(
    Math.max(0.5, ...latSides.flatMap((k) => [lat[k].added_p50_ms, lat[k].added_p99_ms])) * 1.15,
  );
  const latency = barPanel({
    x: 20,
    y: 70,
    width: 420,
    height: 250,
    title: "Added latency over direct, concurrency 1 (ms)",
    unit: "",
    maxValue: latMax,
    groups: latSides.map((k) => ({
      label: latNames[k],
      bars: [
        { value: lat[k].added_p50_ms, color: COLORS.p50, label: `p50 +${lat[k].added_p50_ms.toFixed(2)}` },
        { value: lat[k].added_p99_ms, color: COLORS.p99, label: `p99 +${lat[k].added_p99_ms.toFixed(2)}` },
      ],
    })),
  });
  const ratioRows = [
    ["throughput c=32", r.throughput.c32],
    ["throughput c=128", r.throughput.c128],
    ["upload 50 MiB", r.large_body.upload],
    ["download 50 MiB", r.large_body.download],
  ];
  if (r.websocket && !r.websocket.skipped) {
    ratioRows.push(["WebSocket msg rate", { gateway: { ratio: 1 / r.websocket.ratio_p50 } }]);
  }
  const ratios = barPanel({
    x: 450,
    y: 70,
    width: 420,
    height: 250,
    title: "Rate relative to direct (side ÷ direct; 1 = no loss)",
    unit: "",
    maxValue: 1.2,
    reference: 1,
    groups: ratioRows.map(([label, row]) => ({
      label,
      bars: [
        ...(row.floor
          ? [{ value: row.floor.ratio, color: COLORS.floor, label: `floor ${row.floor.ratio.toFixed(2)}` }]
          : []),
        ...((row.socket_preset ?? row.gateway)
          ? [
              {
                value: (row.socket_preset ?? row.gateway).ratio,
                color: COLORS.gateway,
                label: `gateway ${(row.socket_preset ?? row.gateway).ratio.toFixed(2)}`,
              },
            ]
          : []),
      ],
    })),
  });
  const m = r.machine;
  const notes = [];
  const g = r.gemini_repair;
  notes.push(
    g?.skipped
      ? "Gemini repair: not measured (route not available)"
      : `Gemini repair: cut → first continued byte p50 ${g.cut_to_first_continued_byte_ms_p50} ms`,
  );
  const s = r.sse?.socket_preset;
  if (s)
    notes.push(
      `SSE: added TTFB ${s.added_ttfb_ms.toFixed(1)} ms, added gap p50 ${s.added_gap_p50_ms.toFixed(2)} ms`,
    );
  notes.push(`workerd peak RSS ${Math.round(r.workerd_rss_peak_mb ?? r.large_body.workerd_rss_peak_mb)} MB`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" role="img" aria-labelledby="chart-title">
<title id="chart-title">Gateway overhead against direct: added latency and rate ratios (${esc(m.date.slice(0, 10))})</title>
<rect width="${W}" height="${H}" fill="#fff"/>
${text(20, 26, "LLM gateway under plain workerd serve vs direct to a loopback mock", 'font-size="15" font-weight="700"')}
${text(20, 44, `${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB · Node ${m.node} · ${m.workerd} · ${m.date.slice(0, 10)} · ${r.mode} run`, 'font-size="11" fill="#555"')}
${latency}
${ratios}
${text(20, H - 28, notes.join("  ·  "), 'font-size="11" fill="#333"')}
${text(20, H - 12, "Method: sides interleaved round by round, medians of round statistics; reproduce with npm run bench (README, Performance).", 'font-size="10" fill="#777"')}
</svg>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const results = JSON.parse(readFileSync(`${dir}results.json`, "utf8"));
  writeFileSync(`${dir}chart.svg`, renderChart(results));
}

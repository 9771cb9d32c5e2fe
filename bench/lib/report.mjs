/** The bench's printed table (also pasted into the README section). */
import { goalRows } from "./goals.mjs";

const SIDE_LABELS = {
  direct: "direct (no Worker)",
  floor: "floor: bare pass-through Worker",
  socket_floor: "socket floor: bare connect() Worker",
  socket_preset: "gateway, socket preset",
  fetch_preset: "gateway, fetch preset",
  generic: "gateway, generic route (socket)",
  portkey: "Portkey gateway (Node)",
};

const fmt = (v, digits = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

/** A plain-text table: the first column left-aligned, the others right-aligned, a rule under the header. */
export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? pad(c, widths[i]) : lpad(c, widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function formatTable(r) {
  const m = r.machine;
  const out = [
    `Machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB; ${m.platform}; Node ${m.node}; ${m.workerd}; ${m.date} (${r.mode} run)`,
    "",
    "Latency, small JSON (POST …/chat/completions), concurrency 1 (ms; added = side − direct; ÷ floor = added ÷ the floor's added; ÷ socket floor = added ÷ the bare connect() Worker's)",
    table(
      ["side", "p50", "p99", "added p50", "added p99", "p50 ÷ floor", "p99 ÷ floor", "p50 ÷ socket floor"],
      Object.entries(r.latency).map(([k, v]) => [
        SIDE_LABELS[k] ?? k,
        fmt(v.p50_ms, 3),
        fmt(v.p99_ms, 3),
        fmt(v.added_p50_ms, 3),
        fmt(v.added_p99_ms, 3),
        fmt(v.added_p50_vs_floor, 2),
        fmt(v.added_p99_vs_floor, 2),
        fmt(v.added_p50_vs_socket_floor, 2),
      ]),
    ),
    "",
    "Throughput, small JSON, keep-alive client (req/s; ÷ direct, ÷ floor; CPU ms per request of the serving process from /proc: workerd, or Portkey's Node)",
    table(
      [
        "side",
        "c=32 req/s",
        "÷ direct",
        "÷ floor",
        "÷ socket floor",
        "CPU ms/req",
        "c=128 req/s",
        "÷ direct",
        "÷ floor",
        "CPU ms/req",
      ],
      Object.keys(r.throughput.c32).map((k) => [
        SIDE_LABELS[k] ?? k,
        fmt(r.throughput.c32[k].rps, 0),
        fmt(r.throughput.c32[k].ratio, 3),
        fmt(r.throughput.c32[k].ratio_to_floor, 3),
        fmt(r.throughput.c32[k].ratio_to_socket_floor, 3),
        fmt(r.throughput.c32[k].cpu_ms_per_request, 3),
        fmt(r.throughput.c128[k].rps, 0),
        fmt(r.throughput.c128[k].ratio, 3),
        fmt(r.throughput.c128[k].ratio_to_floor, 3),
        fmt(r.throughput.c128[k].cpu_ms_per_request, 3),
      ]),
    ),
    "",
    "SSE, 64 deltas every 20 ms (ms; added = side − direct)",
    table(
      ["side", "TTFB", "added TTFB", "gap p50", "added gap p50", "gap p99", "added gap p99", "lost events"],
      Object.entries(r.sse).map(([k, v]) => [
        SIDE_LABELS[k] ?? k,
        fmt(v.ttfb_ms, 3),
        fmt(v.added_ttfb_ms, 3),
        fmt(v.gap_p50_ms, 3),
        fmt(v.added_gap_p50_ms, 3),
        fmt(v.gap_p99_ms, 3),
        fmt(v.added_gap_p99_ms, 3),
        v.missing_events,
      ]),
    ),
    "",
    `Large body, ${r.large_body.bytes / 2 ** 20} MiB each way (MB/s; ratio = side ÷ direct)`,
    table(
      ["side", "upload MB/s", "ratio", "download MB/s", "ratio"],
      Object.keys(r.large_body.upload).map((k) => [
        SIDE_LABELS[k] ?? k,
        fmt(r.large_body.upload[k].mb_per_s, 1),
        fmt(r.large_body.upload[k].ratio, 3),
        fmt(r.large_body.download[k].mb_per_s, 1),
        fmt(r.large_body.download[k].ratio, 3),
      ]),
    ),
    `workerd RSS: ${fmt(r.large_body.workerd_rss_before_mb, 1)} MB before, ${fmt(r.large_body.workerd_rss_peak_mb, 1)} MB peak during the gateway's transfers`,
    "",
  ];
  const g = r.gemini_repair;
  out.push(
    g.skipped
      ? `Gemini repair: skipped: ${g.skipped}`
      : `Gemini repair (${g.rounds} streams cut after 300 chars): upstream cut → first continued byte at the client p50 ${fmt(g.cut_to_first_continued_byte_ms_p50, 1)} ms (max ${fmt(g.cut_to_first_continued_byte_ms_max, 1)} ms); cut → continuation request at the upstream p50 ${fmt(g.cut_to_continuation_request_ms_p50, 1)} ms; wrong streams: ${g.wrong_streams}`,
  );
  const w = r.websocket;
  out.push(
    w.skipped
      ? `WebSocket: skipped: ${w.skipped}`
      : `WebSocket round trip, 64-byte text (${w.messages} messages each): direct p50 ${fmt(w.direct_rtt_p50_ms, 3)} ms, gateway p50 ${fmt(w.gateway_rtt_p50_ms, 3)} ms (×${fmt(w.ratio_p50, 2)}, +${fmt(w.added_p50_ms, 3)} ms); p99 ${fmt(w.direct_rtt_p99_ms, 3)} / ${fmt(w.gateway_rtt_p99_ms, 3)} ms`,
  );
  const sg = r.stream_guard;
  if (sg) {
    out.push(
      `Stream guard (${sg.events} chat deltas every ${sg.gap_ms} ms, socket preset, ${sg.rounds} rounds): event latency p50 guarded ${fmt(sg.sides.guarded.event_latency_p50_ms, 3)} ms vs unguarded ${fmt(sg.sides.unguarded.event_latency_p50_ms, 3)} ms (added ${fmt(sg.added_per_event_ms_p50, 3)} ms; p99 added ${fmt(sg.added_per_event_ms_p99, 3)} ms); added TTFB ${fmt(sg.added_ttfb_ms, 3)} ms`,
    );
  }
  const fe = r.gemini_first_event;
  if (fe) {
    out.push(
      `Gemini time to first event (p50 of ${fe.requests_per_side} short streams each): direct ${fmt(fe.first_event_ms_p50.direct, 2)} ms, plain socket preset ${fmt(fe.first_event_ms_p50.plain, 2)} ms, protected session ${fmt(fe.first_event_ms_p50.session, 2)} ms (session − plain ${fmt(fe.session_minus_plain_ms, 2)} ms)`,
    );
  }
  const pm = r.protected_memory;
  if (pm) {
    out.push(
      `Protected request memory: small bodies ${fmt(pm.small.peak_rss_per_request_kb_p50, 0)} KiB per session (${pm.small.concurrent_sessions} at once; max ${fmt(pm.small.peak_rss_per_request_kb_max, 0)}); ${fmt(pm.large.body_bytes / 2 ** 20, 0)} MiB body: peak RSS growth ${fmt(pm.large.peak_rss_growth_mb_max, 1)} MB = ${fmt(pm.large.ratio_to_body_max, 2)}× the body (worst round; p50 ${fmt(pm.large.ratio_to_body_p50, 2)}×)`,
    );
  }
  out.push(
    `workerd RSS: ${fmt(r.workerd_rss_startup_mb, 1)} MB after start-up, ${fmt(r.workerd_rss_peak_mb, 1)} MB peak over the whole run`,
  );
  const pk = r.portkey;
  if (pk && !pk.skipped) {
    const c = (k, side) => fmt(pk[k][side], 2);
    out.push(
      `Portkey ${pk.version} (Node, same mock and request) ÷ us, socket preset / fetch preset: added p50 ${c("added_p50_ratio", "socket_preset")}× / ${c("added_p50_ratio", "fetch_preset")}×, added p99 ${c("added_p99_ratio", "socket_preset")}× / ${c("added_p99_ratio", "fetch_preset")}×; our req/s ÷ Portkey's at c=32 ${fmt(pk.rps_ratio.c32?.socket_preset, 2)}× / ${fmt(pk.rps_ratio.c32?.fetch_preset, 2)}×, at c=128 ${fmt(pk.rps_ratio.c128?.socket_preset, 2)}× / ${fmt(pk.rps_ratio.c128?.fetch_preset, 2)}×; CPU per request, Portkey ÷ workerd, c=32 ${fmt(pk.cpu_ratio.c32?.socket_preset, 2)}× / ${fmt(pk.cpu_ratio.c32?.fetch_preset, 2)}×`,
    );
  } else if (pk?.skipped) {
    out.push(`Portkey: not measured: ${pk.skipped}`);
  }
  out.push("", "Goals of issue 13 (one run)");
  out.push(
    table(
      ["figure", "this run", "goal", "met"],
      goalRows(r).map((g) => [
        g.figure,
        g.value === null ? (g.note ?? "–") : `${fmt(g.value, 2)}${g.unit === "ms" ? " ms" : g.unit}`,
        g.goal,
        g.met === null ? "–" : g.met ? "yes" : "NO",
      ]),
    ),
  );
  return out.join("\n");
}

/**
 * Dashboard styles, inlined under the response's CSP nonce. Light and dark follow
 * `prefers-color-scheme`; below 720 px the layout becomes a single column and tables become stacked
 * rows labelled from `data-label`, so the page reads on a phone.
 */
export const DASHBOARD_STYLE = `
:root{--bg:#f5f6fa;--panel:#fff;--panel-2:#f9fafc;--text:#121826;--muted:#5d6679;--border:#e2e5ee;
--accent:#4f46e5;--accent-2:#0ea5e9;--accent-soft:#eef0ff;--ok:#15803d;--ok-soft:#dcfce7;--bad:#b91c1c;--bad-soft:#fee2e2;
--warn:#a16207;--warn-soft:#fef6d8;--info:#1d4ed8;--info-soft:#e0ecff;--code-bg:#0f1524;--code-text:#dbe3f4;
--shadow:0 1px 2px rgba(16,24,40,.05),0 4px 16px rgba(16,24,40,.06);--radius:14px;
--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono","Noto Sans Mono CJK SC",monospace;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
@media (prefers-color-scheme:dark){:root{--bg:#0b0f19;--panel:#121a2a;--panel-2:#0f1624;--text:#e6eaf3;--muted:#96a0b6;
--border:#222c40;--accent:#8f95ff;--accent-2:#38bdf8;--accent-soft:#1c2147;--ok:#4ade80;--ok-soft:#0f2b1c;--bad:#f87171;
--bad-soft:#3b1518;--warn:#fbbf24;--warn-soft:#33270a;--info:#93b4ff;--info-soft:#14213d;--code-bg:#070b13;--code-text:#d6def0;
--shadow:0 1px 2px rgba(0,0,0,.3),0 6px 20px rgba(0,0,0,.25)}}
*{box-sizing:border-box}
html{scroll-behavior:smooth;-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.55 var(--sans)}
code,pre{font-family:var(--mono);font-size:.9em}
a{color:var(--accent)}
[hidden]{display:none!important}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
.top{position:sticky;top:0;z-index:5;background:color-mix(in srgb,var(--bg) 82%,transparent);backdrop-filter:blur(10px);
border-bottom:1px solid var(--border)}
.top-inner{display:flex;align-items:center;justify-content:space-between;gap:16px;padding-top:14px;padding-bottom:8px}
.brand{display:flex;align-items:center;gap:14px;min-width:0}
.logo{flex:none;width:40px;height:40px;border-radius:11px;background:linear-gradient(135deg,var(--accent),var(--accent-2));
box-shadow:0 4px 14px color-mix(in srgb,var(--accent) 35%,transparent);position:relative}
.logo::before,.logo::after{content:"";position:absolute;left:10px;right:10px;height:3px;border-radius:2px;background:#fff}
.logo::before{top:14px}.logo::after{top:23px;right:15px}
h1{margin:0;font-size:1.3rem;letter-spacing:-.01em}
.tagline{margin:2px 0 0;color:var(--muted);font-size:.88rem}
.lang-switch{display:flex;flex:none;border:1px solid var(--border);border-radius:999px;padding:3px;background:var(--panel)}
.lang-switch button{border:0;background:none;color:var(--muted);font:inherit;font-size:.85rem;padding:4px 12px;border-radius:999px;cursor:pointer}
.lang-switch button[aria-pressed=true]{background:var(--accent);color:#fff}
.nav{display:flex;gap:4px;overflow-x:auto;padding-bottom:8px}
.nav a{color:var(--muted);text-decoration:none;font-size:.9rem;padding:4px 10px;border-radius:8px;white-space:nowrap}
.nav a:hover{background:var(--accent-soft);color:var(--accent)}
main{padding-top:8px}
section{margin:36px 0;scroll-margin-top:120px}
h2{font-size:1.25rem;margin:0 0 6px;letter-spacing:-.01em;display:flex;align-items:center;gap:10px}
h3{margin:0;font-size:1rem}
.hint{color:var(--muted);margin:0 0 16px;font-size:.92rem}
.muted{color:var(--muted)}
.section-head{display:flex;align-items:center;justify-content:space-between;gap:12px;flex-wrap:wrap;margin-bottom:4px}
.count{font-size:.75rem;font-weight:600;color:var(--accent);background:var(--accent-soft);padding:2px 9px;border-radius:999px}
.alerts{display:grid;gap:8px;margin-top:16px}
.alert{padding:10px 14px;border-radius:10px;font-size:.9rem;border:1px solid;display:flex;gap:10px;align-items:flex-start}
.alert::before{content:"!";flex:none;width:20px;height:20px;border-radius:50%;display:grid;place-items:center;font-weight:700;font-size:.8rem;color:var(--panel)}
.alert-warn{background:var(--warn-soft);border-color:color-mix(in srgb,var(--warn) 35%,transparent);color:var(--text)}
.alert-warn::before{background:var(--warn)}
.alert-info{background:var(--info-soft);border-color:color-mix(in srgb,var(--info) 35%,transparent)}
.alert-info::before{background:var(--info);content:"i"}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px;margin-top:14px}
.feature{display:flex;gap:12px;background:var(--panel);border:1px solid var(--border);border-radius:var(--radius);padding:14px 16px;box-shadow:var(--shadow)}
.feature p{margin:3px 0 0;color:var(--muted);font-size:.88rem}
.icon{flex:none;width:34px;height:34px;padding:7px;border-radius:10px;background:var(--accent-soft);color:var(--accent)}
.icon path{fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
input[type=search],input[type=password]{font:inherit;color:var(--text);background:var(--panel);border:1px solid var(--border);
border-radius:10px;padding:8px 12px;min-width:0}
input[type=search]{width:min(320px,100%)}
input:focus-visible,button:focus-visible,summary:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.card{display:flex;flex-direction:column;gap:8px;background:var(--panel);border:1px solid var(--border);border-radius:var(--radius);
padding:14px;box-shadow:var(--shadow);min-width:0}
.card.is-overridden{border-color:color-mix(in srgb,var(--accent) 55%,var(--border));background:linear-gradient(180deg,var(--accent-soft),var(--panel) 60%)}
.card-head{display:flex;align-items:baseline;justify-content:space-between;gap:8px}
.card-head h3{overflow-wrap:anywhere}
.route{color:var(--muted);font-size:.82rem;white-space:nowrap}
.badges{display:flex;flex-wrap:wrap;gap:6px}
.badge{font-size:.72rem;font-weight:600;padding:2px 8px;border-radius:999px;border:1px solid var(--border);color:var(--muted);white-space:nowrap}
.badge.transport-socket{color:var(--ok);border-color:color-mix(in srgb,var(--ok) 40%,transparent);background:var(--ok-soft)}
.badge.transport-fetch{color:var(--info);border-color:color-mix(in srgb,var(--info) 40%,transparent);background:var(--info-soft)}
.badge.gemini{color:#fff;border-color:transparent;background:linear-gradient(90deg,#4285f4,#9b72cb,#d96570)}
.badge.overridden{color:var(--accent);border-color:var(--accent);background:var(--panel)}
.hosts{list-style:none;margin:0;padding:0;display:grid;gap:2px;font-size:.85rem}
.hosts code{overflow-wrap:anywhere}
.weight{color:var(--muted);font-size:.78rem;font-family:var(--mono)}
.note,.alias{margin:0;font-size:.8rem;color:var(--muted)}
.note{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;line-clamp:2;overflow:hidden}
.url-row{margin-top:auto;display:flex;align-items:center;gap:8px;background:var(--panel-2);border:1px solid var(--border);border-radius:10px;padding:6px 6px 6px 10px}
.url{flex:1;min-width:0;overflow-wrap:anywhere;font-size:.76rem;line-height:1.35}
button{font:inherit;cursor:pointer}
.copy{flex:none;font-size:.78rem;font-weight:600;border:1px solid var(--border);background:var(--panel);color:var(--text);border-radius:8px;padding:4px 8px}
.copy:hover{border-color:var(--accent);color:var(--accent)}
.copy.ok{background:var(--ok-soft);color:var(--ok);border-color:var(--ok)}
.copy.bad{background:var(--bad-soft);color:var(--bad);border-color:var(--bad)}
.empty{color:var(--muted);text-align:center;padding:20px;border:1px dashed var(--border);border-radius:var(--radius)}
.offscreen{position:fixed;left:-9999px;top:0}
.token-form{display:flex;flex-wrap:wrap;align-items:center;gap:10px;background:var(--panel);border:1px solid var(--border);
border-radius:var(--radius);padding:12px 14px;box-shadow:var(--shadow)}
.token-form>label:first-child{font-weight:600;font-size:.9rem}
.token-form input[type=password]{flex:1 1 220px}
.token-form.connected>:not(#token-forget):not(.connected-note){display:none}
.connected-note{display:none;flex:1;font-size:.9rem;color:var(--ok);font-weight:600}
.token-form.connected .connected-note{display:block}
.check{display:flex;align-items:center;gap:6px;font-size:.85rem;color:var(--muted)}
.primary{background:var(--accent);color:#fff;border:0;border-radius:10px;padding:8px 16px;font-weight:600}
.ghost{background:none;border:1px solid var(--border);color:var(--muted);border-radius:10px;padding:7px 12px}
.status{font-size:.88rem;color:var(--muted);margin:12px 0}
.status[data-tone=ok]{color:var(--ok)}.status[data-tone=bad]{color:var(--bad)}
.live-dot{width:10px;height:10px;border-radius:50%;background:var(--border)}
.live-dot.on{background:var(--ok);box-shadow:0 0 0 0 color-mix(in srgb,var(--ok) 60%,transparent);animation:pulse 2s infinite}
.live-dot.bad{background:var(--bad)}
@keyframes pulse{70%{box-shadow:0 0 0 8px transparent}100%{box-shadow:0 0 0 0 transparent}}
@media (prefers-reduced-motion:reduce){.live-dot.on{animation:none}html{scroll-behavior:auto}}
.sessions{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px;margin-bottom:12px}
.session-card{background:var(--panel);border:1px solid var(--border);border-radius:var(--radius);padding:12px 14px;box-shadow:var(--shadow)}
.session-card h3{font-size:.85rem;color:var(--muted);font-weight:600;margin-bottom:6px}
.counters{display:flex;flex-wrap:wrap;gap:6px 18px}
.counter{display:flex;flex-direction:column}
.counter strong{font-size:1.35rem;font-variant-numeric:tabular-nums;line-height:1.2}
.counter span{font-size:.75rem;color:var(--muted)}
.health-list{display:grid;gap:12px}
.health-endpoint{background:var(--panel);border:1px solid var(--border);border-radius:var(--radius);box-shadow:var(--shadow);overflow:hidden}
.health-head{display:flex;align-items:baseline;flex-wrap:wrap;gap:10px;padding:12px 14px;border-bottom:1px solid var(--border)}
.in-service{margin-left:auto;font-size:.78rem;font-weight:600;color:var(--warn)}.in-service.all{color:var(--ok)}.in-service.none{color:var(--bad)}
.target-row{display:grid;grid-template-columns:minmax(170px,2.2fr) 110px 70px 120px 140px 80px 110px minmax(130px,1.4fr);gap:10px;
align-items:center;padding:9px 14px;border-bottom:1px solid var(--border);font-size:.86rem}
.target-row:last-child{border-bottom:0}
.target-row.header{background:var(--panel-2);color:var(--muted);font-size:.74rem;font-weight:600;text-transform:uppercase;letter-spacing:.03em;padding-top:6px;padding-bottom:6px}
.target-row[data-state=ejected]{background:color-mix(in srgb,var(--bad-soft) 45%,transparent)}
.target-row[data-state=failing]{background:color-mix(in srgb,var(--bad-soft) 30%,transparent)}
.target-row[data-state=rate_limited]{background:color-mix(in srgb,var(--warn-soft) 55%,transparent)}
.target-url{display:flex;gap:6px;align-items:baseline;min-width:0}
.target-url code{overflow-wrap:anywhere}
.num{font-variant-numeric:tabular-nums}
.pill{display:inline-flex;align-items:center;gap:6px;font-size:.76rem;font-weight:600;padding:2px 9px;border-radius:999px;white-space:nowrap}
.pill::before{content:"";width:7px;height:7px;border-radius:50%;background:currentColor}
.state-healthy{color:var(--ok);background:var(--ok-soft)}
.state-ejected{color:var(--bad);background:var(--bad-soft)}
.state-failing{color:var(--bad);background:var(--bad-soft);outline:1px dashed currentColor;outline-offset:-1px}
.state-rate_limited{color:var(--warn);background:var(--warn-soft)}
.state-probing{color:var(--info);background:var(--info-soft)}
.state-ok{color:var(--ok);background:var(--ok-soft)}
.state-invalid,.state-exhausted{color:var(--bad);background:var(--bad-soft)}
.target-row.key-row{grid-template-columns:minmax(170px,2.2fr) 110px 120px 80px 110px minmax(130px,1.4fr)}
.keys-title{margin:10px 14px 4px;font-size:.8rem;color:var(--muted)}
.err{color:var(--bad);font-size:.82rem}
.until{font-variant-numeric:tabular-nums}
.spark{width:96px;height:24px;display:block}
.spark .good{fill:var(--ok)}.spark .fair{fill:var(--warn)}.spark .poor{fill:var(--bad)}.spark .track{fill:var(--panel-2)}
.sub{font-size:.78rem}.bad-text{color:var(--bad)}
details.idle{font-size:.88rem;color:var(--muted)}
details.idle summary{cursor:pointer;padding:6px 0}
details.idle p{font-family:var(--mono);font-size:.8rem;word-spacing:.4em}
.tabs{display:flex;gap:4px;overflow-x:auto;border-bottom:1px solid var(--border);margin-bottom:12px}
.tab{border:0;background:none;color:var(--muted);padding:8px 12px;border-bottom:2px solid transparent;white-space:nowrap;font-weight:600;font-size:.88rem}
.tab[aria-selected=true]{color:var(--accent);border-bottom-color:var(--accent)}
.panel-note{font-size:.85rem;color:var(--warn);margin:0 0 8px}
.code-wrap{position:relative}
.code-wrap pre{margin:0;background:var(--code-bg);color:var(--code-text);border-radius:var(--radius);padding:16px 18px;overflow-x:auto;
font-size:.84rem;line-height:1.6;border:1px solid var(--border)}
.code-wrap .copy{position:absolute;top:10px;right:10px;background:rgba(255,255,255,.08);color:#e6eaf3;border-color:rgba(255,255,255,.18)}
.origin{color:#7dd3fc}
.url .origin{color:var(--accent)}
.table-wrap{overflow-x:auto;background:var(--panel);border:1px solid var(--border);border-radius:var(--radius);box-shadow:var(--shadow)}
.config-table{width:100%;border-collapse:collapse;font-size:.88rem}
.config-table th,.config-table td{text-align:left;padding:9px 14px;border-bottom:1px solid var(--border);vertical-align:top}
.config-table thead th{background:var(--panel-2);color:var(--muted);font-size:.74rem;text-transform:uppercase;letter-spacing:.03em}
.config-table tbody tr:last-child>*{border-bottom:0}
.config-table tr.changed .effective{color:var(--accent);font-weight:600}
.config-table .meaning{color:var(--muted)}
.foot{color:var(--muted);font-size:.8rem;padding-top:8px;padding-bottom:32px}
@media (max-width:980px){.target-row{grid-template-columns:1fr 1fr 1fr 1fr}.target-row .target-url{grid-column:1/-1}
.target-row.header{display:none}.target-row .cell[data-label]::before{content:attr(data-label);display:block;font-size:.68rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}}
@media (max-width:720px){.wrap{padding:0 14px}body{font-size:14px}.tagline{display:none}h1{font-size:1.1rem}
.logo{width:34px;height:34px}.logo::before{top:11px;left:8px;right:8px}.logo::after{top:19px;left:8px;right:13px}
.features{grid-template-columns:1fr;gap:8px}.feature{padding:10px 12px}.feature p{font-size:.82rem}.icon{width:28px;height:28px;padding:5px}.cards{grid-template-columns:1fr}section{margin:28px 0}
.target-row{grid-template-columns:repeat(3,minmax(0,1fr));gap:8px;padding:10px 12px}.target-row .last-error{grid-column:1/-1}.spark{width:80px;height:20px}
.config-table thead{display:none}.config-table tr{display:grid;grid-template-columns:1fr 1fr;border-bottom:1px solid var(--border)}
.config-table th[scope=row],.config-table .meaning{grid-column:1/-1}.config-table td,.config-table th{border-bottom:0;padding:6px 12px}
.config-table td[data-label]::before{content:attr(data-label);display:block;font-size:.68rem;color:var(--muted);text-transform:uppercase}}
`;

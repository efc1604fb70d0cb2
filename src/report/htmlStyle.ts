// The HTML report's stylesheet, inlined into the page (no network). Kept apart from the markup.
export const HTML_STYLE = `
:root{--fg:#212529;--muted:#6c757d;--line:#e9ecef;--bg:#fff;--card:#f8f9fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:960px;margin:0 auto;padding:24px 20px 40px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:15px;margin:0 0 10px}
.meta{color:var(--muted);margin:0 0 8px}
pre.command{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:0 0 16px;white-space:pre-wrap;word-break:break-all;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
section{margin:0 0 22px}
.verdict{border-radius:8px;padding:14px 18px;border-left:6px solid var(--muted);background:var(--card)}
.verdict-label{font-size:24px;font-weight:700;letter-spacing:.02em}
.explanation{font-size:16px;margin:4px 0 6px}
.v-io-bound{border-color:#1c7ed6}.v-io-bound .verdict-label{color:#1864ab}
.v-cpu-bound{border-color:#d9480f}.v-cpu-bound .verdict-label{color:#c92a2a}
.v-mixed{border-color:#f59f00}.v-mixed .verdict-label{color:#e67700}
.v-idle .verdict-label{color:var(--muted)}
.warnings{background:#fff9db;border:1px solid #ffe066;border-radius:6px;padding:6px 12px}
.warnings ul{margin:0;padding-left:18px}
.stackbar{display:flex;height:22px;border-radius:4px;overflow:hidden;background:var(--line);margin-bottom:10px}
.seg{display:block;height:100%}
table.shares{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.shares th,table.shares td{padding:2px 14px 2px 0;text-align:right}
table.shares th:first-child,table.shares td:first-child{text-align:left}
table.shares th{color:var(--muted);font-weight:500}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.stat .label{color:var(--muted);font-size:12px}
.stat .value{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
.stat .detail{color:var(--muted);font-size:12px}
.chart-block{margin:0 0 18px}
figcaption{font-weight:600;margin-bottom:2px}
.legend{color:var(--muted);font-size:12px;margin-bottom:2px}
.key{margin-right:12px}
svg.chart{width:100%;height:auto;display:block}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .axis{stroke:#adb5bd;stroke-width:1}
svg.chart .tick{fill:var(--muted);font-size:11px}
.missing{color:var(--muted);font-style:italic;margin:4px 0}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
`;

// The report's stylesheet, inlined into the page.
export const REPORT_CSS = `
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f8fafc; --card: #fff; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { background: #0f172a; color: #f8fafc; padding: 24px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { color: #cbd5e1; font-size: 13px; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 4px; }
.lead { color: var(--muted); margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; }
.card .s { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }
.grid.small { grid-template-columns: repeat(auto-fit, minmax(290px, 1fr)); }
figure { margin: 0; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
.chart { position: relative; height: 300px; }
.grid.small .chart { height: 230px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right; white-space: nowrap; }
th:first-child, thead th { text-align: left; }
thead th { background: #f1f5f9; font-weight: 600; }
tr.teacher { background: #f9fafb; }
tr.matching, tr.total { font-weight: 600; background: #eff6ff; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; background: #e5e7eb; color: #374151; font-weight: 500; }
.tag.best { background: #dcfce7; color: #166534; }
.note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
.curation-details h3 { font-size: 15px; margin: 16px 0 4px; }
.curation-details pre { white-space: pre-wrap; word-break: break-word; font-size: 12px; margin: 2px 0; max-height: 16em; overflow: auto; }
.curation-details .tpl { color: #a0a0a0; }
.curation-details .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin: 8px 0; }
.curation-details .rec-label { font-size: 12px; font-weight: 600; }
.curation-details .response { border-left: 3px solid #d0d0d0; padding-left: 6px; }
.status { display: inline-block; padding: 1px 10px; border-radius: 10px; background: #334155; font-size: 12px; margin-left: 8px; }
.status.succeeded { background: #15803d; } .status.failed { background: #b91c1c; } .status.running { background: #1d4ed8; }
.scroll { overflow-x: auto; }
.split { display: grid; grid-template-columns: minmax(320px, 2fr) 3fr; gap: 20px; align-items: start; }
table.judges th, table.judges td { padding: 5px 6px; font-size: 12.5px; }
table.judges tbody th { white-space: normal; min-width: 150px; }
`;

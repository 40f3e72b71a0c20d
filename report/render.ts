// renderReport: one self-contained HTML file (inline CSS, data and Chart.js) describing a migration.
import { curationDetailsHtml } from './curation-details';
import { breakEvenMonths } from './break-even';
import { BOOT_SCRIPT, chartJsSource } from './chart-runtime';
import {
  breakEvenCharts,
  curationChart,
  distributionCharts,
  scoreVsVolumeCharts,
  spendChart,
  type ChartSpec,
} from './charts';
import { densityCharts } from './density-charts';
import { esc, fmtCount, fmtInt, fmtScore, fmtUsd, scriptJson } from './html';
import { progressionChart, progressionNote, progressionTable, referenceName } from './progression';
import type { ReportData } from './report-data';
import { REPORT_CSS } from './styles';
import {
  bestCycle,
  costTableHtml,
  curationTable,
  judgeTable,
  spendTable,
  targetValue,
  totalSpend,
} from './tables';

function figure(spec: ChartSpec): string {
  return `<figure><figcaption>${esc(spec.title)}</figcaption><div class="chart"><canvas id="${esc(spec.id)}" role="img" aria-label="${esc(spec.title)}"></canvas></div></figure>`;
}

function card(key: string, value: string, sub = ''): string {
  return `<div class="card"><div class="k">${esc(key)}</div><div class="v">${value}</div><div class="s">${sub}</div></div>`;
}

function summaryCards(data: ReportData): string {
  const best = bestCycle(data);
  const bestValue = best ? targetValue(best.evaluation, data) : undefined;
  const teacherValue = data.teacher ? targetValue(data.teacher, data) : undefined;
  const baseValue = data.base ? targetValue(data.base, data) : undefined;
  const refName = referenceName(data);
  const spent = totalSpend(data);
  const [first] = data.costs.scenarios;
  const even = first ? breakEvenMonths(first.workload, data.costs.pricing, first.local) : null;
  const target = `${data.target.metric} ${data.target.statistic} ≥ ${fmtScore(data.target.value)}`;
  return `<div class="cards">${[
    card(
      'cycles',
      String(data.cycles.length),
      best ? `best: cycle ${best.cycle} (${fmtCount(best.syntheticVolume)} synthetic)` : '',
    ),
    card(
      'best score',
      bestValue === undefined ? '–' : fmtScore(bestValue),
      `${esc(target)}${baseValue === undefined ? '' : ` · base ${fmtScore(baseValue)}`}`,
    ),
    ...(refName && best?.evaluation.reference
      ? [
          card(
            refName,
            fmtScore(best.evaluation.reference.mean),
            `best cycle vs reference${data.base?.reference ? ` · base ${fmtScore(data.base.reference.mean)}` : ''}`,
          ),
        ]
      : []),
    card('teacher score', teacherValue === undefined ? '–' : fmtScore(teacherValue), esc(data.teacherModel)),
    card(
      'service-LLM spend',
      fmtUsd(spent.usd),
      `${fmtInt(spent.calls)} calls of ${fmtUsd(data.budgetUsd)} budget`,
    ),
    card(
      'break-even',
      even === null ? '–' : `${even.toFixed(1)} mo`,
      first ? `${esc(first.workload.name)} workload vs ${esc(data.costs.pricing.model)}` : '',
    ),
  ].join('')}</div>`;
}

/** The best adapter's exports (config `export`): where each file is, or why there is none. */
function exportsSection(data: ReportData): string {
  const e = data.exports;
  if (!e) return '';
  const rows: [string, string | undefined][] = [
    ['merged weights (safetensors)', e.merged],
    ['GGUF', e.gguf ?? (e.ggufSkipped ? `not written: ${e.ggufSkipped}` : undefined)],
    ['Ollama Modelfile', e.modelfile],
  ];
  const body = e.error
    ? `<p class="note">The export failed: ${esc(e.error)}</p>`
    : `<table><tbody>${rows
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(v!)}</code></td></tr>`)
        .join('')}</tbody></table>`;
  return `<section id="exports">
  <h2>Exports of the best adapter</h2>
  <p class="lead">Cycle ${e.cycle}'s adapter, the migration's best${e.error ? '' : ', merged into the base model'}.</p>
  <div class="scroll">${body}</div>
</section>`;
}

export function renderReport(data: ReportData): string {
  const progression = progressionChart(data);
  const fig2 = scoreVsVolumeCharts(data);
  const fig3 = distributionCharts(data);
  const density = densityCharts(data);
  const curation = curationChart(data);
  const spend = spendChart(data);
  const fig4 = breakEvenCharts(data);
  const charts = [
    ...(progression ? [progression] : []),
    ...fig2,
    ...fig3,
    ...density,
    ...(curation ? [curation] : []),
    ...(spend ? [spend] : []),
    ...fig4,
  ];
  const title = `llamaduo report: ${data.name}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
  <h1>${esc(data.name)} <span class="status ${esc(data.status)}">${esc(data.status)}</span></h1>
  <div class="meta">${esc(data.migrationId)} · student ${esc(data.baseModel)} · teacher ${esc(data.teacherModel)} · generated ${esc(data.generatedAt)}</div>
</header>
<main>
${summaryCards(data)}
${exportsSection(data)}
<section id="progression">
  <h2>Base student → each cycle</h2>
  <p class="lead">${progressionNote(data)}</p>
  ${progression ? figure(progression) : ''}
  <div class="scroll">${progressionTable(data)}</div>
</section>
<section id="scores">
  <h2>Score per cycle vs synthetic data volume</h2>
  <p class="lead">Mean judge score of the fine-tuned student (${esc(data.baseModel)}) after each cycle; dashed lines in the same colour are the teacher's own score from that judge (the paper's Figure 2).</p>
  ${fig2.length > 0 ? `<div class="grid">${fig2.map(figure).join('')}</div>` : '<p class="note">No cycle has been evaluated yet.</p>'}
</section>
<section id="judges">
  <h2>Per-judge results</h2>
  <p class="lead">Teacher and student on the held-out test split, per judge and metric (the paper's Table 1).</p>
  <div class="scroll">${judgeTable(data)}</div>
</section>
<section id="distributions">
  <h2>Score distributions</h2>
  <p class="lead">Share of test samples per score band, per judge and metric: the first cycle, the latest (darker) and the teacher (grey) (the paper's Figure 3).</p>
  ${fig3.length > 0 ? `<div class="grid small">${fig3.map(figure).join('')}</div>` : '<p class="note">No per-sample scores recorded.</p>'}
  ${density.length > 0 ? `<p class="lead">Density (Gaussian KDE) of each test answer's precision against its similarity, per judge: the first cycle, the latest and the teacher; a larger bubble is a denser region.</p><div class="grid small">${density.map(figure).join('')}</div>` : ''}
</section>
<section id="curation">
  <h2>Synthetic data curation</h2>
  <p class="lead">Every generated sample is either accepted into training or dropped, with the reason.</p>
  ${curation ? figure(curation) : ''}
  <div class="scroll">${curationTable(data)}</div>
  ${data.cycles
    .filter((c) => c.synthesis?.curation)
    .map((c) => curationDetailsHtml(c.cycle, c.synthesis!.drops, c.synthesis!.curation!))
    .join('')}
</section>
<section id="spend">
  <h2>Spend per stage</h2>
  <p class="lead">Service-LLM calls, tokens and money per pipeline stage, as billed by the providers.</p>
  <div class="split">${spend ? figure(spend) : ''}<div class="scroll">${spendTable(data)}</div></div>
</section>
<section id="costs">
  <h2>Local serving vs API: break-even</h2>
  <p class="lead">Cumulative cost of serving the task with the fine-tuned local model against paying for the API (the paper's Table 2 and Figure 4).</p>
  <div class="grid">${fig4.map(figure).join('')}</div>
  <div class="scroll">${costTableHtml(data)}</div>
</section>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script type="application/json" id="report-charts">${scriptJson(charts)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT_SCRIPT}</script>
</body>
</html>
`;
}

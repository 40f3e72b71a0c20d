// renderStudyReport: one self-contained HTML page for a study, in the migration report's styles: the grid's
// cells, Table 1 per task, Figure 2's coverage lines per judge and data generator, and, from the data the
// client gathers from the cells (client/study-data.ts), Figure 3's densities, Table 4's token statistics and
// Table 2 / Figure 4's break-even.
import { BOOT_SCRIPT, chartJsSource } from './chart-runtime';
import { color, type ChartSpec } from './charts';
import { esc, fmtPct, fmtScore, fmtUsd, scriptJson } from './html';
import { REPORT_CSS } from './styles';
import type { StudyProgress } from '../workflows/study-messages';
import { fig2Series, metricOf, STUDY_METRICS, table1, type Table1 } from './study-tables';
import { studyCosts, fig4Charts } from './study-costs';
import type { StudyData } from './study-data';
import { table2Html, table4, table4Html } from './study-data-tables';
import { fig3Charts } from './study-density';

function table1Html(t: Table1): string {
  const judgeLabel = (j: string) => (j === 'all' ? 'mean of judges' : j);
  const head1 = t.judges.map((j) => `<th colspan="2">${esc(judgeLabel(j))}</th>`).join('');
  const head2 = t.judges.map(() => STUDY_METRICS.map((m) => `<th>${esc(m)}</th>`).join('')).join('');
  const rows = t.rows.map((r) => {
    const cells = t.judges
      .map((j) =>
        STUDY_METRICS.map((m) => {
          const v = metricOf(r.evaluation, j, m);
          if (!v) return '<td class="na">–</td>';
          const c50 = v.coverage['50'];
          return `<td>${fmtScore(v.mean)}${c50 === undefined ? '' : ` / ${fmtPct(c50)}`}</td>`;
        }).join(''),
      )
      .join('');
    const tag =
      r.kind === 'service' ? '<span class="tag">service</span>' : '<span class="tag best">local</span>';
    return `<tr class="${r.kind === 'service' ? 'teacher' : 'local'}" data-kind="${r.kind}"><th scope="row">${esc(r.model)} ${tag}<div class="note">${esc(r.source)}</div></th>${cells}</tr>`;
  });
  const matching = t.judges
    .map((j) =>
      STUDY_METRICS.map((m) => {
        const v = t.matching[j]?.[m];
        const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : fmtPct(x, 1));
        return `<td>${pct(v?.mean)} / ${pct(v?.coverage50)}</td>`;
      }).join(''),
    )
    .join('');
  rows.push(
    `<tr class="matching"><th scope="row">Perf. Matching (best local ÷ best service: mean / coverage ≥ 50)</th>${matching}</tr>`,
  );
  return `<table class="judges table1" data-task="${esc(t.task)}"><thead><tr><th rowspan="2">model</th>${head1}</tr><tr>${head2}</tr></thead><tbody>${rows.join('')}</tbody></table><p class="note">Cells: mean score (0-100) / % of test samples scoring ≥ 50. Service rows: each service LLM's own answers; local rows: each student's best cycle over data generators and volumes; all judged on the same test prompts.</p>`;
}

/**
 * Figure 2: one chart per task, judge, data generator and metric (precision, similarity: the paper draws both);
 * a line per student and statistic (mean, coverage ≥ 50, coverage ≥ 70).
 */
export function fig2Charts(progress: StudyProgress): ChartSpec[] {
  const series = fig2Series(progress);
  const groupOf = (s: (typeof series)[number]) => `${s.task}|${s.judge}|${s.generator}|${s.metric}`;
  const groups = [...new Set(series.map(groupOf))];
  return groups.map((g, gi) => {
    const [task, judge, generator, metric] = g.split('|') as [string, string, string, string];
    const inGroup = series.filter((s) => groupOf(s) === g);
    const volumes = [...new Set(inGroup.flatMap((s) => s.points.map((p) => p.volume)))].sort((a, b) => a - b);
    const datasets = inGroup.flatMap((s, si) =>
      (['mean', 'coverage50', 'coverage70'] as const).map((stat, k) => ({
        label: `${s.student} · ${stat === 'mean' ? 'mean' : `coverage ≥ ${stat.slice(8)}`}`,
        data: volumes.map((v) => s.points.find((p) => p.volume === v)?.[stat] ?? null),
        borderColor: color(si),
        backgroundColor: color(si),
        borderDash: k === 0 ? [] : k === 1 ? [6, 4] : [2, 3],
        pointRadius: 4,
      })),
    );
    return {
      id: `fig2-${gi}`,
      title: `${task}: ${metric} vs synthetic volume, judged by ${judge === 'all' ? 'mean of judges' : judge}, data by ${generator}`,
      config: {
        type: 'line',
        data: { labels: volumes.map(String), datasets },
        options: { scales: { y: { min: 0, max: 100 } } },
      },
    } as ChartSpec;
  });
}

function cellsTable(progress: StudyProgress): string {
  const rows = progress.cells
    .map(
      (c) =>
        `<tr data-status="${esc(c.status)}"><th scope="row">${esc(c.key)}</th><td>${esc(c.student)}</td><td>${esc(c.generator)}</td><td>${c.volume}</td><td>${esc(c.status)}</td><td>${fmtUsd(c.spentUsd)}</td><td>${esc(c.workflowId)}</td></tr>`,
    )
    .join('');
  return `<table class="cells"><thead><tr><th>cell</th><th>student</th><th>data generator</th><th>volume</th><th>status</th><th>USD</th><th>workflow</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const figureHtml = (c: ChartSpec) =>
  `<figure><figcaption>${esc(c.title)}</figcaption><div class="chart"><canvas id="${esc(c.id)}" role="img" aria-label="${esc(c.title)}"></canvas></div></figure>`;

/** `data` (per-sample scores, token statistics, economics) adds Figure 3, Table 4 and Table 2 / Figure 4. */
export function renderStudyReport(
  progress: StudyProgress,
  generatedAt: string,
  data: StudyData = { cells: [] },
): string {
  const tables = table1(progress);
  const fig2 = fig2Charts(progress);
  const fig3 = fig3Charts(progress, data);
  const tokens = table4(progress, data);
  const costs = studyCosts(progress, data);
  const fig4 = fig4Charts(costs);
  const charts = [...fig2, ...fig3, ...fig4];
  const title = `llamaduo study: ${progress.name}`;
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
  <h1>${esc(progress.name)} <span class="status ${esc(progress.status)}">${esc(progress.status)}</span></h1>
  <div class="meta">${progress.cells.length} cells · ${fmtUsd(progress.spentUsd)} of ${fmtUsd(progress.maxUsd)} budget · generated ${esc(generatedAt)}</div>
</header>
<main>
${tables
  .map(
    (t) => `<section id="table1-${esc(t.task)}">
  <h2>Table 1: ${esc(t.task)}</h2>
  <p class="lead">Service LLMs and the best fine-tuned local model per student, per judge and metric (the paper's Table 1).</p>
  <div class="scroll">${table1Html(t)}</div>
</section>`,
  )
  .join('\n')}
<section id="fig2">
  <h2>Figure 2: coverage vs synthetic volume</h2>
  <p class="lead">Precision mean (solid), coverage ≥ 50 (dashed) and ≥ 70 (dotted) per student, per judge and data generator.</p>
  ${fig2.length ? `<div class="grid">${fig2.map(figureHtml).join('')}</div>` : '<p class="note">No cell has been evaluated yet.</p>'}
</section>
<section id="fig3">
  <h2>Figure 3: precision against similarity</h2>
  <p class="lead">Density (Gaussian KDE) of each test answer's precision against its similarity, one colour per synthetic volume, per judge, student and data generator; a larger bubble is a denser region.</p>
  ${fig3.length ? `<div class="grid">${fig3.map(figureHtml).join('')}</div>` : '<p class="note">No per-sample scores were read from the cells.</p>'}
</section>
${tokens
  .map(
    (t) => `<section id="table4-${esc(t.task)}" class="table4">
  <h2>Table 4: token statistics, ${esc(t.task)}</h2>
  <p class="lead">Tokens per sample of the coverage splits and of every synthetic dataset (estimated at four characters a token).</p>
  <div class="scroll">${table4Html(t)}</div>
</section>`,
  )
  .join('\n')}
${costs
  .map(
    (c) => `<section id="table2-${esc(c.task)}" class="table2">
  <h2>Table 2: local vs service LLMs, ${esc(c.task)}</h2>
  <p class="lead">Cumulative cost of serving the task with the best local model against each service LLM's API at its own price (the paper's Table 2 and Figure 4).</p>
  <div class="scroll">${table2Html(c)}</div>
</section>`,
  )
  .join('\n')}
${fig4.length ? `<section id="fig4"><h2>Figure 4: break-even</h2><div class="grid">${fig4.map(figureHtml).join('')}</div></section>` : ''}
<section id="cells">
  <h2>Cells</h2>
  <div class="scroll">${cellsTable(progress)}</div>
</section>
</main>
<script type="application/json" id="report-charts">${scriptJson(charts)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT_SCRIPT}</script>
</body>
</html>
`;
}

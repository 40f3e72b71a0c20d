// The study report's Table 4 (token statistics of each task's data: the coverage splits once, each cell's
// synthetic datasets) and Table 2 (the break-even of the best local model against each service LLM).
import { gpuUsdPerHourOf } from '../common/economics';
import { esc, fmtCount, fmtInt, fmtUsd } from './html';
import type { StudyCosts } from './study-costs';
import type { DataTokenRow, StudyData } from './study-data';
import type { TokenSummary } from './token-stats';
import type { StudyProgress } from '../workflows/study-messages';

export interface Table4Row {
  /** "coverage train", "coverage test", or "synthetic (<generator>, cycle n)" */
  dataset: string;
  /** the cells this row's data belongs to */
  cells: string[];
  row: DataTokenRow;
}

export interface Table4 {
  task: string;
  rows: Table4Row[];
}

/** One Table 4 per task: each distinct coverage split once, then every synthetic dataset per cell. */
export function table4(progress: StudyProgress, data: StudyData): Table4[] {
  const tasks = [...new Set(progress.cells.map((c) => c.task))];
  const out: Table4[] = [];
  for (const task of tasks) {
    const rows: Table4Row[] = [];
    const cells = progress.cells.filter((c) => c.task === task);
    for (const kind of ['coverage-train', 'coverage-test'] as const)
      for (const cell of cells)
        for (const r of data.cells.find((d) => d.key === cell.key)?.tokens ?? []) {
          if (r.dataset !== kind) continue;
          const same = rows.find((x) => x.row.dataset === kind && x.row.sha256 === r.sha256);
          if (same) same.cells.push(cell.key);
          else rows.push({ dataset: kind.replace('-', ' '), cells: [cell.key], row: r });
        }
    for (const cell of cells)
      for (const r of data.cells.find((d) => d.key === cell.key)?.tokens ?? [])
        if (r.dataset === 'synthetic')
          rows.push({
            dataset: `synthetic by ${cell.generator}, for cycle ${r.cycle}`,
            cells: [cell.key],
            row: r,
          });
    if (rows.length) out.push({ task, rows });
  }
  return out;
}

const num = (n: number) => (Number.isInteger(n) ? fmtInt(n) : n.toFixed(1));
const stat = (s: TokenSummary, k: keyof TokenSummary) => `<td>${num(s[k])}</td>`;

export function table4Html(t: Table4): string {
  const head = `<tr><th rowspan="2">dataset</th><th rowspan="2">samples</th><th colspan="4">tokens per sample (prompt + response)</th><th colspan="3">prompt tokens</th><th colspan="3">response tokens</th></tr><tr><th>min</th><th>max</th><th>mean</th><th>std</th><th>mean</th><th>median</th><th>max</th><th>mean</th><th>median</th><th>max</th></tr>`;
  const body = t.rows
    .map((r) => {
      const s = r.row.stats;
      const cells = r.cells.length === 1 ? r.cells[0]! : `${r.cells.length} cells`;
      return `<tr data-dataset="${esc(r.row.dataset)}"><th scope="row">${esc(r.dataset)}<div class="note">${esc(cells)}</div></th><td>${fmtInt(s.records)}</td>${(['min', 'max', 'mean', 'std'] as const).map((k) => stat(s.total, k)).join('')}${(['mean', 'median', 'max'] as const).map((k) => stat(s.prompt, k)).join('')}${(['mean', 'median', 'max'] as const).map((k) => stat(s.response, k)).join('')}</tr>`;
    })
    .join('');
  return `<table class="tokens table4" data-task="${esc(t.task)}"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

export function table2Html(c: StudyCosts): string {
  const [first] = c.rows;
  if (!first) return '';
  const horizons = first.row.at.map((a) => a.months);
  const head = `<tr><th>service LLM</th><th>price in / out per M tokens</th><th>API per month</th>${horizons.map((m) => `<th>API after ${m} months</th><th>local after ${m} months</th>`).join('')}<th>break-even</th></tr>`;
  const body = c.rows
    .map(
      (r) =>
        `<tr data-service="${esc(r.service)}"><th scope="row">${esc(r.service)}${r.priced ? '' : ' <span class="tag">priced as GPT-4o</span>'}</th><td>${fmtUsd(r.pricing.inputUsdPerMTok)} / ${fmtUsd(r.pricing.outputUsdPerMTok)}</td><td>${fmtUsd(r.row.apiUsdPerMonth)}</td>${r.row.at.map((a) => `<td>${fmtUsd(a.apiUsd)}</td><td>${fmtUsd(a.localUsd)}</td>`).join('')}<td class="break-even">${r.row.breakEvenMonths === null ? 'never' : `${r.row.breakEvenMonths.toFixed(1)} months`}</td></tr>`,
    )
    .join('');
  const e = c.economics;
  const source = c.configured
    ? 'economics from the study config'
    : "the paper's light workload on one owned L4; set economics in the study config for your own";
  const note = `Workload ${fmtCount(c.workload.inputTokensPerDay)} input + ${fmtCount(c.workload.outputTokensPerDay)} output tokens a day (${source}); local: ${esc(c.local.model)} (cell ${esc(c.local.cell)}) on ${esc(c.local.serving.name)}, fine-tuning ${fmtUsd(c.local.serviceUsd)} of service-LLM spend + ${fmtUsd(c.local.gpuUsd)} of GPU time at ${fmtUsd(gpuUsdPerHourOf(e))}/h${!c.gpuPriceAssumed ? '' : ' (an assumed default price: set economics.gpuUsdPerHour)'}, ${e.serving === 'owned' ? `servers ${fmtUsd(c.local.serving.serverUsd)} each up front, ` : ''}${fmtUsd(c.local.serving.servers * c.local.serving.powerUsdPerServerMonth)} a month to run; a month is 30 days.`;
  return `<table class="costs table2" data-task="${esc(c.task)}"><thead>${head}</thead><tbody>${body}</tbody></table><p class="note">${note}</p>`;
}

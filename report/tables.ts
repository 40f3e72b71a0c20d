// The report's tables: the numbers behind each chart, readable without JavaScript.
import { pickBestCycle } from '../common/best-cycle';
import type { EvaluationSummary, JudgeSummary, MetricSummary, Usage } from '../common/types';
import { costTable } from './break-even';
import { METRICS, STAGE_ORDER, cycleLabel, judgesOf } from './charts';
import { esc, fmtCount, fmtInt, fmtPct, fmtScore, fmtUsd } from './html';
import type { CycleReport, ReportData } from './report-data';

/** The coverage threshold shown in Table 1: the target's, else the strictest one reported. */
export function coverageKey(data: ReportData): string | null {
  if (data.target.statistic === 'coverage50') return '50';
  if (data.target.statistic === 'coverage70') return '70';
  const keys = new Set<string>();
  for (const c of data.cycles)
    for (const j of c.evaluation.judges) for (const k of Object.keys(j.similarity.coverage)) keys.add(k);
  return [...keys].sort((a, b) => Number(b) - Number(a))[0] ?? null;
}

/**
 * The cycle whose target metric and statistic (mean over judges) is highest; ties go to the reference
 * metric, then the later cycle (common/best-cycle, the order the workflow promotes by).
 */
export function bestCycle(data: ReportData): CycleReport | null {
  return pickBestCycle(data.cycles, (c) => ({
    cycle: c.cycle,
    score: targetValue(c.evaluation, data),
    reference: c.evaluation.reference?.mean,
  }));
}

export function targetValue(summary: EvaluationSummary, data: ReportData): number | undefined {
  const row = summary.judges.find((j) => j.judge === 'all') ?? summary.judges[0];
  if (!row) return undefined;
  const m = row[data.target.metric];
  return data.target.statistic === 'mean'
    ? m.mean
    : m.coverage[data.target.statistic === 'coverage50' ? '50' : '70'];
}

function cell(m: MetricSummary | undefined, cov: string | null): string {
  if (!m) return '<td class="na">–</td>';
  const c = cov !== null && m.coverage[cov] !== undefined ? ` / ${fmtPct(m.coverage[cov]!)}` : '';
  return `<td>${fmtScore(m.mean)}${c}</td>`;
}

function ratio(student: number | undefined, teacher: number | undefined): string {
  if (student === undefined || teacher === undefined || teacher === 0) return '–';
  return fmtPct((100 * student) / teacher, 1);
}

/** Table 1: teacher row, one row per student cycle, and the matching ratio (best student / teacher). */
export function judgeTable(data: ReportData): string {
  const judges = judgesOf(data);
  const cov = coverageKey(data);
  const find = (s: EvaluationSummary | null | undefined, judge: string): JudgeSummary | undefined =>
    s?.judges.find((j) => j.judge === judge);
  const head1 = judges.map((j) => `<th colspan="2">${esc(j === 'all' ? 'mean of judges' : j)}</th>`).join('');
  const head2 = judges.map(() => METRICS.map((m) => `<th>${esc(m)}</th>`).join('')).join('');
  const row = (label: string, summary: EvaluationSummary | null | undefined, cls = '') =>
    `<tr class="${cls}"><th scope="row">${label}</th>${judges.map((j) => METRICS.map((m) => cell(find(summary, j)?.[m], cov)).join('')).join('')}</tr>`;
  const rows: string[] = [];
  if (data.teacher)
    rows.push(row(`${esc(data.teacherModel)} <span class="tag">teacher</span>`, data.teacher, 'teacher'));
  for (const b of data.baselines ?? [])
    rows.push(row(`${esc(b.model)} <span class="tag">service</span>`, b.evaluation, 'teacher service'));
  if (data.base) rows.push(row('student · base (no adapter)', data.base, 'base'));
  const best = bestCycle(data);
  for (const c of data.cycles) {
    const mark = c === best ? ' <span class="tag best">best</span>' : '';
    rows.push(row(`student · ${esc(cycleLabel(c.cycle, c.syntheticVolume))}${mark}`, c.evaluation));
  }
  if (data.teacher && best) {
    const cells = judges
      .map((j) =>
        METRICS.map((m) => {
          const s = find(best.evaluation, j)?.[m];
          const t = find(data.teacher, j)?.[m];
          const c = cov !== null ? ` / ${ratio(s?.coverage[cov], t?.coverage[cov])}` : '';
          return `<td>${ratio(s?.mean, t?.mean)}${c}</td>`;
        }).join(''),
      )
      .join('');
    rows.push(`<tr class="matching"><th scope="row">Perf. matching (best / teacher)</th>${cells}</tr>`);
  }
  const note =
    cov !== null
      ? `Cells: mean score (0-100) / % of samples scoring ≥ ${esc(cov)}.`
      : 'Cells: mean score (0-100).';
  return `<table class="judges"><thead><tr><th rowspan="2">model</th>${head1}</tr><tr>${head2}</tr></thead><tbody>${rows.join('')}</tbody></table><p class="note">${note}</p>`;
}

export function curationTable(data: ReportData): string {
  const cycles = data.cycles.filter((c) => c.synthesis);
  if (cycles.length === 0) return '<p class="note">No synthesis has run yet.</p>';
  const reasons = [...new Set(cycles.flatMap((c) => Object.keys(c.synthesis!.drops)))].sort();
  const head = `<tr><th>synthesis</th><th>generated</th><th>accepted</th>${reasons.map((r) => `<th>${esc(r)}</th>`).join('')}<th>acceptance</th></tr>`;
  const body = cycles
    .map((c) => {
      const s = c.synthesis!;
      const rate = s.generated > 0 ? fmtPct((100 * s.accepted) / s.generated, 1) : '–';
      return `<tr><th scope="row">after cycle ${c.cycle}</th><td>${fmtInt(s.generated)}</td><td>${fmtInt(s.accepted)}</td>${reasons
        .map((r) => `<td>${fmtInt(s.drops[r] ?? 0)}</td>`)
        .join('')}<td>${rate}</td></tr>`;
    })
    .join('');
  return `<table><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

export function totalSpend(data: ReportData): Usage {
  const total: Usage = { calls: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, usd: 0 };
  for (const u of Object.values(data.spend)) {
    total.calls += u.calls;
    total.inputTokens += u.inputTokens;
    total.outputTokens += u.outputTokens;
    total.cachedTokens += u.cachedTokens;
    total.usd += u.usd;
  }
  return total;
}

export function spendTable(data: ReportData): string {
  const line = (label: string, u: Usage, cls = '') =>
    `<tr class="${cls}"><th scope="row">${esc(label)}</th><td>${fmtInt(u.calls)}</td><td>${fmtInt(u.inputTokens)}</td><td>${fmtInt(u.outputTokens)}</td><td>${fmtInt(u.cachedTokens)}</td><td>${fmtUsd(u.usd)}</td></tr>`;
  const rows = STAGE_ORDER.filter((s) => data.spend[s]).map((s) => line(s, data.spend[s]!));
  const total = totalSpend(data);
  rows.push(line('total', total, 'total'));
  const budget = `<p class="note">Budget ${fmtUsd(data.budgetUsd)}; ${fmtPct(data.budgetUsd > 0 ? (100 * total.usd) / data.budgetUsd : 0, 1)} used.</p>`;
  return `<table><thead><tr><th>stage</th><th>calls</th><th>input tokens</th><th>output tokens</th><th>cached tokens</th><th>USD</th></tr></thead><tbody>${rows.join('')}</tbody></table>${budget}`;
}

/** Table 2 of the paper: one column pair (local, API) per scenario. */
export function costTableHtml(data: ReportData): string {
  const { pricing, scenarios } = data.costs;
  if (scenarios.length === 0) return '<p class="note">No cost scenarios given.</p>';
  const rows = costTable(scenarios, pricing);
  const head = `<tr><th></th>${rows.map((r) => `<th colspan="2">${esc(r.scenario)} workload</th>`).join('')}</tr><tr><th></th>${scenarios
    .map((s) => `<th>local (${esc(s.local.name)})</th><th>${esc(pricing.model)} API</th>`)
    .join('')}</tr>`;
  const line = (label: string, cells: string[]) =>
    `<tr><th scope="row">${label}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const body = [
    line(
      'Tokens per month (in / out)',
      rows.flatMap((r) => [
        '–',
        `${fmtCount(r.apiMTokPerMonth.input * 1e6)} / ${fmtCount(r.apiMTokPerMonth.output * 1e6)}`,
      ]),
    ),
    line(
      'Fine-tuning (one-off)',
      scenarios.flatMap((s) => [fmtUsd(s.local.fineTuningUsd), '–']),
    ),
    line(
      'Serving (one-off / per month)',
      scenarios.flatMap((s, i) => [
        fmtUsd(s.local.servers * s.local.serverUsd),
        `${fmtUsd(rows[i]!.apiUsdPerMonth)} / month`,
      ]),
    ),
    line(
      'Running per month (power or GPU rent)',
      rows.flatMap((r) => [fmtUsd(r.localUsdPerMonth), '–']),
    ),
    ...rows[0]!.at.map((_, h) =>
      line(
        `${rows[0]!.at[h]!.months} months`,
        rows.flatMap((r) => [fmtUsd(r.at[h]!.localUsd), fmtUsd(r.at[h]!.apiUsd)]),
      ),
    ),
    `<tr class="total"><th scope="row">Break-even</th>${rows
      .map(
        (r) =>
          `<td colspan="2">${r.breakEvenMonths === null ? 'never: API is cheaper than power' : `${r.breakEvenMonths.toFixed(1)} months`}</td>`,
      )
      .join('')}</tr>`,
  ];
  const price = data.costs.gpuPrice;
  const priced =
    price === undefined
      ? ''
      : ` (${price.hours.toFixed(2)} fine-tuning hours at ${fmtUsd(price.usdPerHour)}/h${
          price.assumed
            ? ', an assumed default price (an L4 on demand): set economics.gpuUsdPerHour in the config to yours'
            : ', economics.gpuUsdPerHour from the config'
        })`;
  const gpu =
    data.costs.gpuUsd === undefined
      ? ''
      : ` This migration's fine-tuning cost is its service-LLM spend plus ${fmtUsd(data.costs.gpuUsd)} of GPU time${priced}.`;
  const note = `${esc(pricing.model)} at ${fmtUsd(pricing.inputUsdPerMTok)} / ${fmtUsd(pricing.outputUsdPerMTok)} per million input / output tokens; a month is 30 days.${gpu}`;
  return `<table class="costs"><thead>${head}</thead><tbody>${body.join('')}</tbody></table><p class="note">${note}</p>`;
}

// "Did fine-tuning help?": the base student (no adapter), then every cycle, on the judges' score and on the
// deterministic reference-based metric side by side, with the teacher as the line to reach.
import type { ChartConfiguration } from 'chart.js';
import type { EvaluationSummary } from '../common/types';
import type { ChartSpec } from './charts';
import { esc, fmtCount, fmtPct, fmtScore } from './html';
import type { ReportData } from './report-data';
import { bestCycle, targetValue } from './tables';

const REFERENCE_NAMES: Record<string, string> = {
  'exact-match': 'exact match',
  'rouge-l': 'ROUGE-L F1',
  chrf: 'chrF',
};

interface Row {
  label: string;
  cls: string;
  judge: number | undefined;
  reference: EvaluationSummary['reference'];
}

function rows(data: ReportData): Row[] {
  const out: Row[] = [];
  const row = (label: string, cls: string, s: EvaluationSummary) =>
    out.push({ label, cls, judge: targetValue(s, data), reference: s.reference });
  if (data.base) row('base student (no adapter)', 'base', data.base);
  for (const c of data.cycles)
    row(`cycle ${c.cycle} · ${fmtCount(c.trainingSamples)} training samples`, 'cycle', c.evaluation);
  return out;
}

/** The reference metric's display name, or null when the migration recorded none. */
export function referenceName(data: ReportData): string | null {
  const s = [data.base, ...data.cycles.map((c) => c.evaluation), data.teacher].find((e) => e?.reference);
  return s?.reference ? (REFERENCE_NAMES[s.reference.metric] ?? s.reference.metric) : null;
}

export function progressionTable(data: ReportData): string {
  const all = rows(data);
  if (all.length === 0) return '<p class="note">Nothing has been evaluated yet.</p>';
  const ref = referenceName(data);
  const judgeHead = `judge score (${esc(data.target.metric)} ${esc(data.target.statistic)})`;
  const head = `<tr><th>student</th><th>${judgeHead}</th>${ref ? `<th>${esc(ref)} vs reference</th>` : ''}</tr>`;
  const refCell = (r: Row['reference']) =>
    !ref
      ? ''
      : r
        ? `<td>${fmtScore(r.mean)}${r.metric !== 'exact-match' ? ` <span class="sub">(${fmtPct(r.perfect)} perfect)</span>` : ''}</td>`
        : '<td class="na">–</td>';
  const line = (r: Row) =>
    `<tr class="${r.cls}"><th scope="row">${esc(r.label)}</th><td>${r.judge === undefined ? '–' : fmtScore(r.judge)}</td>${refCell(r.reference)}</tr>`;
  const body = all.map(line);
  if (data.teacher)
    body.push(
      line({
        label: `${data.teacherModel} (teacher)`,
        cls: 'teacher',
        judge: targetValue(data.teacher, data),
        reference: data.teacher.reference,
      }),
    );
  // base against the cycle the migration promotes (the same cycle the "best" card and the benchmark read),
  // with the latest cycle beside it when that is another one
  const baseRef = data.base?.reference;
  const best = bestCycle(data);
  const last = data.cycles.at(-1);
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${fmtScore(x)}`;
  const delta =
    ref && baseRef && best?.evaluation.reference
      ? `<p class="note">${esc(ref)}: base ${fmtScore(baseRef.mean)} → best cycle ${best.cycle} ${fmtScore(best.evaluation.reference.mean)} (${signed(best.evaluation.reference.mean - baseRef.mean)})${
          last && last.cycle !== best.cycle && last.evaluation.reference
            ? `; latest cycle ${last.cycle} ${fmtScore(last.evaluation.reference.mean)} (${signed(last.evaluation.reference.mean - baseRef.mean)})`
            : ''
        }.</p>`
      : '';
  return `<table class="progression"><thead>${head}</thead><tbody>${body.join('')}</tbody></table>${delta}`;
}

/** The line under the table: which number is which, and why both are shown. */
export function progressionNote(data: ReportData): string {
  const ref = referenceName(data);
  const judge =
    'The judge score is an LLM grading each answer 0-100 against the reference response; it reads meaning, but it is noisy, and very much so for a small judge (the offline demo judges with a 135M model).';
  return ref
    ? `${judge} ${esc(ref[0]!.toUpperCase() + ref.slice(1))} compares each answer with the test record's reference response deterministically: no LLM, the same answers always give the same number.`
    : `${judge} Set <code>evaluation.reference</code> to also record a deterministic reference-based score.`;
}

/** Base, then each cycle: the judges' score and the reference metric on one 0-100 axis. */
export function progressionChart(data: ReportData): ChartSpec | null {
  const all = rows(data);
  const ref = referenceName(data);
  if (all.length === 0 || (!data.base && !ref)) return null;
  const labels = all.map((r) => (r.cls === 'base' ? 'base' : r.label.split(' · ')[0]!));
  const datasets: ChartConfiguration<'line'>['data']['datasets'] = [
    {
      label: `judge ${data.target.metric}`,
      data: all.map((r) => r.judge ?? null),
      borderColor: '#2563eb',
      backgroundColor: '#2563eb',
      borderWidth: 2,
      pointRadius: 4,
    },
  ];
  if (ref)
    datasets.push({
      label: `${ref} vs reference`,
      data: all.map((r) => r.reference?.mean ?? null),
      borderColor: '#059669',
      backgroundColor: '#059669',
      borderWidth: 3,
      pointRadius: 4,
    });
  return {
    id: 'fig-progression',
    title: 'base student → cycles: judge score and reference metric',
    config: {
      type: 'line',
      data: { labels, datasets },
      options: {
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 18 } } },
        scales: {
          y: { min: 0, max: 100, title: { display: true, text: 'score (0-100)' } },
        },
      },
    } as ChartConfiguration,
  };
}

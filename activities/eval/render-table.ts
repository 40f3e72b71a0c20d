// A per-judge table in the shape of the paper's Table 1: one row per evaluated model (the teacher's row is the
// target), per judge a precision and a similarity column, each cell "mean / coverage@t1 / coverage@t2",
// and under each student row the performance matching (student / teacher) of every cell.
import { ALL_JUDGES, matchingRatio, thresholdKey } from '../../common/metrics';
import type { EvaluationSummary, JudgeSummary, MetricSummary } from '../../common/types';

export interface TableRow {
  label: string;
  summary: EvaluationSummary;
  /** the teacher's row: the target the other rows are matched against */
  target?: boolean;
}

const METRICS = ['precision', 'similarity'] as const;

function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

function cell(m: MetricSummary | undefined, thresholds: readonly number[]): string {
  if (!m || m.samples === 0) return 'n/a';
  return [fmt(m.mean), ...thresholds.map((t) => `${fmt(m.coverage[thresholdKey(t)] ?? NaN, 0)}%`)].join(
    ' / ',
  );
}

function matchCell(
  s: MetricSummary | undefined,
  t: MetricSummary | undefined,
  thresholds: readonly number[],
): string {
  if (!s || !t || s.samples === 0 || t.samples === 0) return 'n/a';
  const pct = (a: number | undefined, b: number | undefined) => {
    const r = a === undefined || b === undefined ? null : matchingRatio(a, b);
    return r === null ? 'n/a' : `${fmt(100 * r, 1)}%`;
  };
  return [
    pct(s.mean, t.mean),
    ...thresholds.map((th) => pct(s.coverage[thresholdKey(th)], t.coverage[thresholdKey(th)])),
  ].join(' / ');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** Judges in the order they first appear, 'all' last. */
function judgeColumns(rows: readonly TableRow[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const j of r.summary.judges) if (!seen.includes(j.judge)) seen.push(j.judge);
  return [...seen.filter((j) => j !== ALL_JUDGES), ...seen.filter((j) => j === ALL_JUDGES)];
}

export function renderJudgeTable(rows: readonly TableRow[], opts: { thresholds: readonly number[] }): string {
  const { thresholds } = opts;
  const judges = judgeColumns(rows);
  const find = (r: TableRow, judge: string): JudgeSummary | undefined =>
    r.summary.judges.find((j) => j.judge === judge);
  const target = rows.find((r) => r.target);
  const cov = thresholds.map((t) => `cov≥${t}`).join(' / ');
  const out: string[] = [];
  out.push(`Cells: mean / ${cov} (0-100 scale). Matching rows: student / teacher.`, '');
  const header = [
    'model',
    ...judges.flatMap((j) => METRICS.map((m) => `${j === ALL_JUDGES ? 'all judges' : j} ${m}`)),
  ];
  out.push(`| ${header.map(escapeCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const label = r.target ? `${r.label} (target)` : r.label;
    const cells = judges.flatMap((j) => METRICS.map((m) => cell(find(r, j)?.[m], thresholds)));
    out.push(`| ${[label, ...cells].map(escapeCell).join(' | ')} |`);
    if (target && !r.target) {
      const match = judges.flatMap((j) =>
        METRICS.map((m) => matchCell(find(r, j)?.[m], find(target, j)?.[m], thresholds)),
      );
      out.push(`| ${[`↳ matching ${r.label}`, ...match].map(escapeCell).join(' | ')} |`);
    }
  }

  const withPairwise = rows.filter((r) => r.summary.judges.some((j) => j.pairwise));
  if (withPairwise.length) {
    out.push(
      '',
      'Pairwise vs teacher (both orders must agree): win / tie / loss %, position disagreement %.',
      '',
    );
    const ph = ['model', ...judges.map((j) => (j === ALL_JUDGES ? 'all judges' : j))];
    out.push(`| ${ph.map(escapeCell).join(' | ')} |`, `|${ph.map(() => '---').join('|')}|`);
    for (const r of withPairwise) {
      const cells = judges.map((j) => {
        const p = find(r, j)?.pairwise;
        if (!p || !p.pairs) return 'n/a';
        return `${fmt(p.win, 1)} / ${fmt(p.tie, 1)} / ${fmt(p.loss, 1)} (${fmt(p.positionDisagreement, 1)}% disagree, n=${p.pairs})`;
      });
      out.push(`| ${[r.label, ...cells].map(escapeCell).join(' | ')} |`);
    }
  }

  out.push('', 'Failed judge calls (after retries; left out of the scores, never counted as 0):', '');
  const fh = ['model', ...judges.filter((j) => j !== ALL_JUDGES)];
  out.push(`| ${fh.map(escapeCell).join(' | ')} |`, `|${fh.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const cells = fh.slice(1).map((j) => {
      const s = find(r, j);
      return s ? `${s.failed}/${s.calls ?? '?'} calls, ${s.failedSamples ?? 0} samples unscored` : 'n/a';
    });
    out.push(`| ${[r.label, ...cells].map(escapeCell).join(' | ')} |`);
  }

  const agreeing = rows.filter((r) => Object.keys(r.summary.agreementDetail ?? {}).length);
  if (agreeing.length) {
    out.push(
      '',
      "Inter-judge agreement on per-sample scores (Spearman's rho / Kendall's tau-b, n samples):",
      '',
    );
    for (const r of agreeing) {
      for (const [pair, d] of Object.entries(r.summary.agreementDetail!)) {
        const part = (m: 'precision' | 'similarity') =>
          `${m} ${d[m].spearman === null ? 'n/a' : fmt(d[m].spearman!, 3)} / ${d[m].kendall === null ? 'n/a' : fmt(d[m].kendall!, 3)}`;
        out.push(
          `- ${r.label}, ${pair.replace('|', ' vs ')}: ${part('precision')}; ${part('similarity')} (n=${d.precision.n})`,
        );
      }
    }
  }
  return out.join('\n') + '\n';
}

// Chart.js configurations for each figure of the report, computed from ReportData on the server side so
// the page only has to hand them to Chart.js. Every config is plain JSON (no callbacks).
import type { ChartConfiguration } from 'chart.js';
import type { JudgeMetric } from '../common/config';
import { STAGES, type Stage } from '../common/types';
import { apiUsd, breakEvenMonths, localUsd, type ApiPricing, type CostScenario } from './break-even';
import { fmtCount } from './html';
import type { ReportData, ScoreDistribution } from './report-data';

/** Chart.js ignores unknown dataset keys; the page's legend filter reads this one. */
declare module 'chart.js' {
  interface ControllerDatasetOptions {
    hideInLegend?: boolean;
  }
}

export interface ChartSpec {
  id: string;
  title: string;
  config: ChartConfiguration;
}

export const METRICS: JudgeMetric[] = ['precision', 'similarity'];
export const STAGE_ORDER: readonly Stage[] = STAGES;
const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];
/** Drop reasons never take the green that means "accepted". */
const DROP_PALETTE = ['#f59e0b', '#db2777', '#7c3aed', '#0891b2', '#dc2626', '#64748b', '#a16207', '#4f46e5'];
const ALL_JUDGES = 'all';

export function color(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Judges in the order they appear, the 'all' row last. */
export function judgesOf(data: ReportData): string[] {
  const names = new Set<string>();
  for (const c of data.cycles) for (const j of c.evaluation.judges) names.add(j.judge);
  for (const j of data.teacher?.judges ?? []) names.add(j.judge);
  return [...[...names].filter((n) => n !== ALL_JUDGES), ...(names.has(ALL_JUDGES) ? [ALL_JUDGES] : [])];
}

export function cycleLabel(cycle: number, syntheticVolume: number): string {
  return `cycle ${cycle} · ${fmtCount(syntheticVolume)} synthetic`;
}

/** A 0-100 axis that starts just below the lowest value, so differences between judges stay visible. */
function scoreAxis(title: string, values: number[]) {
  const low = Math.min(100, ...values);
  return {
    min: Math.max(0, Math.floor(low / 10) * 10 - 10),
    max: 100,
    title: { display: true, text: title },
  };
}

/** Figure 2: mean score per cycle (x: synthetic volume) per judge, teacher's score dashed. */
export function scoreVsVolumeCharts(data: ReportData): ChartSpec[] {
  if (data.cycles.length === 0) return [];
  const judges = judgesOf(data);
  const labels = data.cycles.map((c) => [`${fmtCount(c.syntheticVolume)}`, `cycle ${c.cycle}`]);
  return METRICS.map((metric) => {
    const datasets: ChartConfiguration<'line'>['data']['datasets'] = [];
    judges.forEach((judge, i) => {
      const all = judge === ALL_JUDGES;
      const col = all ? '#111827' : color(i);
      datasets.push({
        label: all ? 'mean of judges' : judge,
        data: data.cycles.map(
          (c) => c.evaluation.judges.find((j) => j.judge === judge)?.[metric].mean ?? null,
        ),
        borderColor: col,
        backgroundColor: col,
        borderWidth: all ? 3 : 2,
        pointRadius: 4,
        tension: 0.2,
      });
      const teacher = data.teacher?.judges.find((j) => j.judge === judge)?.[metric].mean;
      if (teacher !== undefined) {
        datasets.push({
          label: `${data.teacherModel} (teacher) by ${all ? 'all' : judge}`,
          data: data.cycles.map(() => teacher),
          hideInLegend: true,
          borderColor: col,
          borderDash: [6, 4],
          borderWidth: 1.5,
          pointRadius: 0,
        });
      }
    });
    const values = datasets.flatMap((d) => d.data.filter((v): v is number => typeof v === 'number'));
    return {
      id: `fig-score-${metric}`,
      title: `${metric} score vs synthetic volume`,
      config: {
        type: 'line',
        data: { labels, datasets },
        options: {
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 18 } } },
          scales: {
            y: scoreAxis(`mean ${metric} (0-100)`, values),
            x: { title: { display: true, text: 'synthetic samples in training' } },
          },
        },
      },
    };
  });
}

const BIN_WIDTH = 10;

/** Counts of scores in [0,10), [10,20) ... [90,100]. */
export function histogram(scores: number[]): number[] {
  const bins = new Array<number>(100 / BIN_WIDTH).fill(0);
  for (const s of scores) {
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor(s / BIN_WIDTH)));
    bins[i]! += 1;
  }
  return bins;
}

function subjectLabel(d: ScoreDistribution, data: ReportData): string {
  if (d.subject === 'teacher') return `${data.teacherModel} (teacher)`;
  const cycle = data.cycles.find((c) => c.cycle === d.subject);
  return cycle ? cycleLabel(cycle.cycle, cycle.syntheticVolume) : `cycle ${d.subject}`;
}

/**
 * Figure 3: score distributions per judge and metric: the first and the latest cycle (darker) and the
 * teacher, so the shift the synthetic data bought is visible at a glance.
 */
export function distributionCharts(data: ReportData): ChartSpec[] {
  const judges = judgesOf(data).filter((j) => data.distributions.some((d) => d.judge === j));
  const studentCycles = [
    ...new Set(data.distributions.flatMap((d) => (d.subject === 'teacher' ? [] : [d.subject]))),
  ].sort((a, b) => a - b);
  const shown = new Set<number | 'teacher'>(['teacher', studentCycles[0] ?? 0, studentCycles.at(-1) ?? 0]);
  const maxCycle = Math.max(1, studentCycles.at(-1) ?? 0);
  const labels = histogram([]).map(
    (_, i) => `${i * BIN_WIDTH}-${i * BIN_WIDTH + BIN_WIDTH - (i === 9 ? 0 : 1)}`,
  );
  const specs: ChartSpec[] = [];
  for (const judge of judges) {
    for (const metric of METRICS) {
      const series = data.distributions
        .filter(
          (d) => d.judge === judge && d.metric === metric && d.scores.length > 0 && shown.has(d.subject),
        )
        .sort((a, b) => (a.subject === 'teacher' ? 1 : b.subject === 'teacher' ? -1 : a.subject - b.subject));
      if (series.length === 0) continue;
      specs.push({
        id: `fig-dist-${specs.length}`,
        title: `${judge} · ${metric}`,
        config: {
          type: 'bar',
          data: {
            labels,
            datasets: series.map((d) => {
              const share = d.subject === 'teacher' ? 0 : 0.3 + 0.65 * (d.subject / maxCycle);
              const fill =
                d.subject === 'teacher' ? 'rgba(107,114,128,0.35)' : `rgba(37,99,235,${share.toFixed(2)})`;
              return {
                label: subjectLabel(d, data),
                // Share of samples, so cycles judged on different sample counts compare.
                data: histogram(d.scores).map((n) => +((100 * n) / d.scores.length).toFixed(2)),
                backgroundColor: fill,
                borderColor: d.subject === 'teacher' ? '#6b7280' : '#1e40af',
                borderWidth: 1,
              };
            }),
          },
          options: {
            plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, font: { size: 10 } } } },
            scales: {
              y: { beginAtZero: true, title: { display: true, text: '% of samples' } },
              x: { title: { display: true, text: `${metric} score` } },
            },
          },
        },
      });
    }
  }
  return specs;
}

/** What happened to every synthetic sample generated after each cycle: accepted or dropped, by reason. */
export function curationChart(data: ReportData): ChartSpec | null {
  const cycles = data.cycles.filter((c) => c.synthesis);
  if (cycles.length === 0) return null;
  const reasons = [...new Set(cycles.flatMap((c) => Object.keys(c.synthesis!.drops)))].sort();
  return {
    id: 'fig-curation',
    title: 'curation of synthetic data',
    config: {
      type: 'bar',
      data: {
        labels: cycles.map((c) => `after cycle ${c.cycle}`),
        datasets: [
          { label: 'accepted', data: cycles.map((c) => c.synthesis!.accepted), backgroundColor: '#059669' },
          ...reasons.map((reason, i) => ({
            label: `dropped: ${reason}`,
            data: cycles.map((c) => c.synthesis!.drops[reason] ?? 0),
            backgroundColor: DROP_PALETTE[i % DROP_PALETTE.length]!,
          })),
        ],
      },
      options: {
        indexAxis: 'y',
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, title: { display: true, text: 'synthetic samples' } },
          y: { stacked: true },
        },
      },
    },
  };
}

/** Service-LLM spend per pipeline stage. */
export function spendChart(data: ReportData): ChartSpec | null {
  const stages = STAGE_ORDER.filter((s) => data.spend[s]);
  if (stages.length === 0) return null;
  return {
    id: 'fig-spend',
    title: 'spend per stage',
    config: {
      type: 'bar',
      data: {
        labels: stages,
        datasets: [
          {
            label: 'USD',
            data: stages.map((s) => data.spend[s]!.usd),
            backgroundColor: stages.map((_, i) => color(i)),
          },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, title: { display: true, text: 'USD' } } },
      },
    },
  };
}

/** Months the break-even charts span: a year, or twice the latest break-even if that is later. */
export function costHorizonMonths(scenarios: CostScenario[], pricing: ApiPricing): number {
  const even = scenarios.map((s) => breakEvenMonths(s.workload, pricing, s.local) ?? 0);
  return Math.max(12, Math.ceil(Math.max(0, ...even) * 2));
}

/** Figure 4: cumulative cost of API use (dashed) vs local serving (solid), one chart per scenario. */
export function breakEvenCharts(data: ReportData): ChartSpec[] {
  const { pricing, scenarios } = data.costs;
  const horizon = costHorizonMonths(scenarios, pricing);
  const months = Array.from({ length: horizon + 1 }, (_, m) => m);
  return scenarios.map((s, i) => {
    const even = breakEvenMonths(s.workload, pricing, s.local);
    const datasets: ChartConfiguration<'line'>['data']['datasets'] = [
      {
        label: `${pricing.model} API`,
        data: months.map((m) => ({ x: m, y: Math.round(apiUsd(s.workload, pricing, m)) })),
        borderColor: '#dc2626',
        backgroundColor: '#dc2626',
        borderDash: [6, 4],
        pointRadius: 0,
        borderWidth: 2,
      },
      {
        label: `local, ${s.local.name}`,
        data: months.map((m) => ({ x: m, y: Math.round(localUsd(s.local, m)) })),
        borderColor: '#059669',
        backgroundColor: '#059669',
        pointRadius: 0,
        borderWidth: 2,
      },
    ];
    if (even !== null && even <= horizon) {
      datasets.push({
        label: `break-even: ${even.toFixed(1)} months`,
        data: [{ x: +even.toFixed(2), y: Math.round(localUsd(s.local, even)) }],
        borderColor: '#111827',
        backgroundColor: '#facc15',
        pointRadius: 7,
        pointStyle: 'rectRot',
        showLine: false,
      });
    }
    return {
      id: `fig-break-even-${i}`,
      title: `${s.workload.name} workload`,
      config: {
        type: 'line',
        data: { datasets },
        options: {
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 18 } } },
          scales: {
            x: { type: 'linear', min: 0, max: horizon, title: { display: true, text: 'months of use' } },
            y: { beginAtZero: true, title: { display: true, text: 'cumulative USD' } },
          },
        },
      },
    };
  });
}

// Figure 3 of the paper: the density (a Gaussian KDE) of precision against similarity of the students'
// answers, per judge and student, one density per synthetic volume. Drawn as bubbles on a grid over the
// 0-100 square, each bubble as large as the density there, so the page needs no contour code.
import type { ChartSpec } from './charts';
import { color } from './charts';
import type { StudyData } from './study-data';
import type { StudyProgress } from '../workflows/study-messages';

/** Grid step of the density, in score points: 11 × 11 points over 0-100. */
export const DENSITY_STEP = 10;
/** The smallest bandwidth: judges score in steps of 5 or 10, and identical scores must not collapse to a spike. */
export const MIN_BANDWIDTH = 5;
/** Grid points below this share of the peak density are not drawn. */
export const DENSITY_FLOOR = 0.05;

export interface DensityPoint {
  /** similarity */
  x: number;
  /** precision */
  y: number;
  /** density relative to the peak (1 at the peak) */
  d: number;
}

function bandwidth(values: number[]): number {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  // Scott's rule in two dimensions: sd · n^(-1/6)
  return Math.max(MIN_BANDWIDTH, sd * n ** (-1 / 6));
}

/** A product-Gaussian KDE of (similarity, precision) pairs on the grid, scaled so its peak is 1. */
export function kde2d(similarity: number[], precision: number[], step = DENSITY_STEP): DensityPoint[] {
  if (similarity.length !== precision.length)
    throw new Error(`kde2d: ${similarity.length} similarity scores but ${precision.length} precision scores`);
  if (similarity.length === 0) return [];
  const hx = bandwidth(similarity);
  const hy = bandwidth(precision);
  const points: DensityPoint[] = [];
  for (let x = 0; x <= 100; x += step)
    for (let y = 0; y <= 100; y += step) {
      let d = 0;
      for (let i = 0; i < similarity.length; i++)
        d += Math.exp(-0.5 * (((x - similarity[i]!) / hx) ** 2 + ((y - precision[i]!) / hy) ** 2));
      points.push({ x, y, d });
    }
  const peak = Math.max(...points.map((p) => p.d));
  return points.map((p) => ({ ...p, d: peak > 0 ? p.d / peak : 0 }));
}

export interface DensitySeries {
  task: string;
  judge: string;
  student: string;
  generator: string;
  /** one density per synthetic volume (cycle), by volume */
  volumes: { volume: number; cycle: number; samples: number; points: DensityPoint[] }[];
}

/** Figure 3's densities: per task, judge, student and data generator, one per cycle's synthetic volume. */
export function fig3Series(progress: StudyProgress, data: StudyData): DensitySeries[] {
  const out = new Map<string, DensitySeries>();
  for (const cell of progress.cells) {
    const cd = data.cells.find((c) => c.key === cell.key);
    for (const s of cd?.scores ?? []) {
      if (s.similarity.length === 0) continue;
      const id = [cell.task, s.judge, cell.student, cell.generator].join('|');
      let series = out.get(id);
      if (!series) {
        series = {
          task: cell.task,
          judge: s.judge,
          student: cell.student,
          generator: cell.generator,
          volumes: [],
        };
        out.set(id, series);
      }
      series.volumes.push({
        volume: s.syntheticSamples,
        cycle: s.cycle,
        samples: s.similarity.length,
        points: kde2d(s.similarity, s.precision).filter((p) => p.d >= DENSITY_FLOOR),
      });
    }
  }
  for (const s of out.values()) s.volumes.sort((a, b) => a.volume - b.volume || a.cycle - b.cycle);
  return [...out.values()];
}

/** Hex colour with an alpha channel. */
const alpha = (hex: string, a: number) =>
  `${hex}${Math.round(a * 255)
    .toString(16)
    .padStart(2, '0')}`;

export function fig3Charts(progress: StudyProgress, data: StudyData): ChartSpec[] {
  return fig3Series(progress, data).map((s, i) => ({
    id: `fig3-${i}`,
    title: `${s.task}: ${s.student}, data by ${s.generator}, judged by ${s.judge}`,
    config: {
      type: 'bubble',
      data: {
        datasets: s.volumes.map((v, k) => ({
          label: `${v.volume} synthetic (cycle ${v.cycle}, ${v.samples} samples)`,
          data: v.points.map((p) => ({ x: p.x, y: p.y, r: +(1 + 11 * p.d).toFixed(2) })),
          backgroundColor: alpha(color(k), 0.35),
          borderColor: color(k),
          borderWidth: 1,
        })),
      },
      options: {
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } },
        scales: {
          x: { min: -5, max: 105, title: { display: true, text: 'similarity' } },
          y: { min: -5, max: 105, title: { display: true, text: 'precision' } },
        },
      },
    },
  }));
}

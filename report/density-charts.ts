// The migration report's Figure 3 as the paper draws it: per judge, the density of precision against
// similarity of the first cycle, the latest cycle and the teacher. The per-sample scores of one subject and
// judge are stored per metric in the same sample order, so the two lists pair up by position.
import { cycleLabel, judgesOf, type ChartSpec } from './charts';
import type { ReportData, ScoreDistribution } from './report-data';
import { DENSITY_FLOOR, kde2d } from './study-density';

const SUBJECT_COLOURS = { first: '#93c5fd', latest: '#1d4ed8', teacher: '#6b7280' };

export function densityCharts(data: ReportData): ChartSpec[] {
  const cycles = [
    ...new Set(data.distributions.flatMap((d) => (d.subject === 'teacher' ? [] : [d.subject]))),
  ].sort((a, b) => a - b);
  const subjects: { subject: ScoreDistribution['subject']; colour: string }[] = [];
  if (cycles.length > 0) subjects.push({ subject: cycles[0]!, colour: SUBJECT_COLOURS.first });
  if (cycles.length > 1) subjects.push({ subject: cycles.at(-1)!, colour: SUBJECT_COLOURS.latest });
  subjects.push({ subject: 'teacher', colour: SUBJECT_COLOURS.teacher });
  const label = (s: ScoreDistribution['subject']) => {
    if (s === 'teacher') return `${data.teacherModel} (teacher)`;
    const c = data.cycles.find((x) => x.cycle === s);
    return c ? cycleLabel(c.cycle, c.syntheticVolume) : `cycle ${s}`;
  };
  const specs: ChartSpec[] = [];
  for (const judge of judgesOf(data)) {
    const datasets = subjects.flatMap(({ subject, colour }) => {
      const of = (metric: 'similarity' | 'precision') =>
        data.distributions.find((d) => d.judge === judge && d.subject === subject && d.metric === metric)
          ?.scores ?? [];
      const similarity = of('similarity');
      const precision = of('precision');
      if (similarity.length === 0 || similarity.length !== precision.length) return [];
      return [
        {
          label: `${label(subject)} (${similarity.length} samples)`,
          data: kde2d(similarity, precision)
            .filter((p) => p.d >= DENSITY_FLOOR)
            .map((p) => ({ x: p.x, y: p.y, r: +(1 + 11 * p.d).toFixed(2) })),
          backgroundColor: `${colour}59`,
          borderColor: colour,
          borderWidth: 1,
        },
      ];
    });
    if (datasets.length === 0) continue;
    specs.push({
      id: `fig-density-${specs.length}`,
      title: `${judge}: precision against similarity`,
      config: {
        type: 'bubble',
        data: { datasets },
        options: {
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, font: { size: 10 } } } },
          scales: {
            x: { min: -5, max: 105, title: { display: true, text: 'similarity' } },
            y: { min: -5, max: 105, title: { display: true, text: 'precision' } },
          },
        },
      },
    });
  }
  return specs;
}

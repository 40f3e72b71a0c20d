// Figure 3: the KDE of precision against similarity, and its series per judge, student and data generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fig3Charts, fig3Series, kde2d, MIN_BANDWIDTH } from '../../../report/study-density';
import type { StudyData } from '../../../report/study-data';
import { study } from './study-fixture';

const at = (points: ReturnType<typeof kde2d>, x: number, y: number) =>
  points.find((p) => p.x === x && p.y === y)!.d;

describe('Figure 3: density of precision against similarity', () => {
  it('peaks where the answers are, on an 11 × 11 grid scaled to a peak of 1', () => {
    const points = kde2d([20, 20, 20, 80], [90, 90, 90, 30]);
    assert.equal(points.length, 121);
    assert.equal(at(points, 20, 90), 1);
    // the lone answer at (80, 30) is a smaller second mode, far from the first
    assert.ok(at(points, 80, 30) > 0.3 && at(points, 80, 30) < 0.4, `${at(points, 80, 30)}`);
    // two modes: the point between them is lower than either
    assert.ok(at(points, 50, 60) < at(points, 80, 30));
    // a density over x = similarity, y = precision: swapping the axes moves the peak
    assert.equal(at(kde2d([90, 90, 90], [20, 20, 20]), 90, 20), 1);
  });

  it('identical scores keep the minimum bandwidth instead of collapsing to one grid point', () => {
    const points = kde2d([60, 60], [60, 60]);
    assert.equal(at(points, 60, 60), 1);
    const oneStep = Math.exp(-0.5 * (10 / MIN_BANDWIDTH) ** 2);
    assert.ok(Math.abs(at(points, 70, 60) - oneStep) < 1e-12);
  });

  it('refuses score lists of different lengths', () => {
    assert.throws(() => kde2d([1, 2], [1]), /2 similarity scores but 1 precision/);
    assert.deepEqual(kde2d([], []), []);
  });

  it('one series per task, judge, student and generator, a density per cycle by volume', () => {
    const scores = (cycle: number, volume: number, judge: string, s: number[], p: number[]) => ({
      cycle,
      syntheticSamples: volume,
      judge,
      similarity: s,
      precision: p,
    });
    const data: StudyData = {
      cells: [
        {
          key: 'small.claude',
          scores: [
            scores(1, 100, 'j1', [70, 75], [72, 74]),
            scores(0, 0, 'j1', [40, 50], [45, 40]),
            scores(0, 0, 'j2', [30], [35]),
          ],
          tokens: [],
          generatorModel: null,
          economics: null,
          fineTuneSeconds: 0,
        },
        {
          key: 'tiny.gpt',
          scores: [scores(0, 0, 'j1', [], [])],
          tokens: [],
          generatorModel: null,
          economics: null,
          fineTuneSeconds: 0,
        },
      ],
    };
    const series = fig3Series(study, data);
    assert.deepEqual(
      series.map((s) => `${s.judge}|${s.student}|${s.generator}|${s.volumes.map((v) => v.volume).join(',')}`),
      ['j1|small|claude|0,100', 'j2|small|claude|0'],
    );
    const [chart] = fig3Charts(study, data);
    assert.equal(chart!.config.type, 'bubble');
    assert.equal(chart!.config.data.datasets.length, 2);
    assert.match(chart!.config.data.datasets[1]!.label!, /100 synthetic \(cycle 1, 2 samples\)/);
    // every drawn point is on the grid, the densest the largest
    const radii = chart!.config.data.datasets[0]!.data.map((p) => (p as { r: number }).r);
    assert.equal(Math.max(...radii), 12);
  });
});

// The study report's data gathered from a cell's migration: per-sample scores of each cycle (Figure 3), token
// statistics of its splits and synthetic datasets (Table 4), read from a real local artifact store.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { cellData } from '../../../client/study-data';
import { MigrationConfig } from '../../../common/config';
import type { CycleRecord, Progress } from '../../../common/progress';
import type { ArtifactRef } from '../../../common/types';
import { summary } from './study-fixture';

describe('study data from a cell migration and the artifact store', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'study-data-'));
    store = new LocalArtifactStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads each cycle per judge, the coverage splits and each synthetic dataset', async () => {
    const m = 'study-x.qa.tiny';
    const judgments = async (cycle: number, rows: [string, number, number][]) => {
      await store.writeJsonl(
        ArtifactStore.key(m, `cycle-${cycle}`, 'per-sample.jsonl'),
        rows.map(([judge, similarity, precision], i) => ({
          judge,
          promptId: `p${i}`,
          sample: 0,
          similarity,
          precision,
          repeats: 1,
        })),
      );
      return store.uri(ArtifactStore.key(m, `cycle-${cycle}`, 'judgments.jsonl'));
    };
    const rec = (instruction: string, response: string) => ({
      id: instruction,
      category: 'qa',
      instruction,
      context: '',
      response,
    });
    await store.writeJsonl(ArtifactStore.key(m, 'data', 'train.jsonl'), [
      rec('aaaa', 'bbbbbbbb'),
      rec('aaaaaaaa', 'bb'),
    ]);
    await store.writeJsonl(ArtifactStore.key(m, 'data', 'test.jsonl'), [rec('aaaa', 'bbbb')]);
    const synthetic = await store.writeJsonl(ArtifactStore.key(m, 'synthetic', 'cycle-1.jsonl'), [
      rec('a', 'b'),
      rec('a', 'b'),
      rec('a', 'b'),
    ]);
    const ref = (uri: string): ArtifactRef => ({ uri, sha256: '0'.repeat(64), bytes: 1 });
    const cycle = (n: number, volume: number, uri: string): CycleRecord =>
      ({
        cycle: n,
        trainSamples: 2 + volume,
        syntheticSamples: volume,
        judgments: ref(uri),
        evaluation: summary({ j1: 50 }),
        fineTuneSeconds: 90,
      }) as CycleRecord;
    const progress = {
      migrationId: m,
      cycles: [
        cycle(
          0,
          0,
          await judgments(0, [
            ['j1', 40, 50],
            ['j2', 30, 20],
            ['j1', 60, 70],
          ]),
        ),
        // a cycle whose per-sample file is missing (an older migration) adds no scores
        cycle(1, 3, store.uri(ArtifactStore.key(m, 'cycle-1', 'judgments.jsonl'))),
      ],
      syntheses: [
        { forCycle: 1, wanted: 3, accepted: 3, generated: 3, drops: {}, dataset: synthetic, usd: 0 },
        { forCycle: 2, wanted: 6, accepted: 0, generated: 0, drops: {}, dataset: null, usd: 0 },
      ],
    } as unknown as Progress;
    const config = MigrationConfig.parse({
      name: 'cell',
      dataset: { path: 'd.jsonl' },
      baseModel: 'builtin:tiny-random-llama',
      evaluation: { judges: [{ provider: 'openai', model: 'gpt-4o' }] },
      target: { metric: 'precision', statistic: 'mean', atLeast: 90 },
      synthesis: { teacher: { provider: 'anthropic', model: 'claude-3-5-sonnet' } },
      economics: { gpuUsdPerHour: 1 },
    });
    const d = await cellData(store, 'qa.tiny', progress, config);
    assert.deepEqual(d.scores, [
      { cycle: 0, syntheticSamples: 0, judge: 'j1', similarity: [40, 60], precision: [50, 70] },
      { cycle: 0, syntheticSamples: 0, judge: 'j2', similarity: [30], precision: [20] },
    ]);
    assert.deepEqual(
      d.tokens.map((t) => [t.dataset, t.cycle, t.stats.records, t.stats.total.max]),
      [
        ['coverage-train', null, 2, 3],
        ['coverage-test', null, 1, 2],
        ['synthetic', 1, 3, 2],
      ],
    );
    assert.equal(d.tokens[2]!.sha256, synthetic.sha256);
    assert.equal(d.fineTuneSeconds, 180);
    assert.equal(d.generatorModel?.model, 'claude-3-5-sonnet');
    assert.equal(d.economics?.gpuUsdPerHour, 1);
  });
});

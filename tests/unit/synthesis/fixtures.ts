// A temporary artifact store holding real train/test splits (dolly records) for synthesis tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import { SynthesisConfig } from '../../../common/config';
import type { SynthesisInput } from '../../../common/types';
import { dollyRecords } from '../curation/real-records';

export async function withStore<T>(fn: (store: ArtifactStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-synth-'));
  try {
    return await fn(new LocalArtifactStore(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CATEGORIES = new Set(['open_qa', 'classification', 'summarization']);
export const records = dollyRecords(6000).filter((r) => CATEGORIES.has(r.category));
export const trainRecords = records.slice(0, 150);
export const testRecords = records.slice(150, 180);
/** what the in-test teacher answers with: real records the splits do not hold */
export const teacherPool = records.slice(180);

export async function splits(store: ArtifactStore, migrationId = 'm1') {
  const train = await store.writeJsonl(`${migrationId}/train.jsonl`, trainRecords);
  const test = await store.writeJsonl(`${migrationId}/test.jsonl`, testRecords);
  return { train, test };
}

export function synthesisInput(base: Pick<SynthesisInput, 'train' | 'test'>, wanted: number): SynthesisInput {
  return {
    migrationId: 'm1',
    cycle: 1,
    train: base.train,
    test: base.test,
    prior: [],
    wanted,
    synthesis: SynthesisConfig.parse({
      teacher: { provider: 'openai', model: 'gpt-4o' },
      samplesPerRequest: 3,
      requestsPerShard: 10,
    }),
    budgetUsd: 10,
  };
}

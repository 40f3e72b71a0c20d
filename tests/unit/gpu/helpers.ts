// Shared setup for the GPU activity tests: a temp artifact store with a train/test split in it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GpuBackendConfig, TrainerConfig, InferenceConfig } from '../../../common/config';
import type { FineTuneInput, GenerateInput } from '../../../common/types';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../../activities/store/local-store';

export const FAKE_TRAINER = path.join(import.meta.dirname, 'fixtures', 'fake-trainer.mjs');

export async function tempStore(): Promise<LocalArtifactStore> {
  return new LocalArtifactStore(await mkdtemp(path.join(tmpdir(), 'llamaduo-gpu-')));
}

export async function fineTuneInput(
  store: ArtifactStore,
  migrationId: string,
  gpu: unknown = { kind: 'local', device: 'cpu' },
): Promise<FineTuneInput> {
  const train = await store.writeJsonl(`${migrationId}/data/train.jsonl`, [{ prompt: 'a', response: 'b' }]);
  return {
    migrationId,
    cycle: 0,
    baseModel: 'google/gemma-2b',
    trainer: TrainerConfig.parse({}),
    datasets: [train],
    samples: 1,
    lora: { rank: 8, alpha: 16 },
    gpu: GpuBackendConfig.parse(gpu),
  };
}

export async function generateInput(store: ArtifactStore, migrationId: string): Promise<GenerateInput> {
  const test = await store.writeJsonl(`${migrationId}/data/test.jsonl`, [
    { prompt: 'x' },
    { prompt: 'y' },
    { prompt: 'z' },
  ]);
  const adapter = await store.writeText(`${migrationId}/data/adapter.bin`, 'adapter');
  return {
    migrationId,
    cycle: 1,
    baseModel: 'google/gemma-2b',
    adapter,
    test,
    inference: InferenceConfig.parse({}),
    gpu: GpuBackendConfig.parse({ kind: 'local', device: 'cpu' }),
  };
}

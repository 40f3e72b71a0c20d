// Migration configs for tests: a real coverage subset from ../shared/data (Dolly, one category).
import path from 'node:path';
import { MigrationConfig, type MigrationConfigInput } from '../../common/config';

export const SHARED_DATA = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'raw');
export const DOLLY = path.join(SHARED_DATA, 'dolly15k', 'databricks-dolly-15k.jsonl');

export function testConfig(overrides: Partial<MigrationConfigInput> = {}): MigrationConfig {
  return MigrationConfig.parse({
    name: 'test-migration',
    dataset: { path: DOLLY, categories: ['classification'], limit: 120 },
    split: { testRatio: 0.1, seed: 7 },
    baseModel: 'builtin:tiny-random-llama',
    evaluation: {
      judges: [
        { provider: 'openai', model: 'gpt-4o' },
        { provider: 'anthropic', model: 'claude-3-sonnet' },
      ],
      repeats: 2,
      judgeCallsPerShard: 50,
    },
    target: { metric: 'precision', statistic: 'mean', atLeast: 80 },
    synthesis: {
      teacher: { provider: 'openai', model: 'gpt-4o' },
      initialVolume: 100,
      requestsPerShard: 10,
      samplesPerRequest: 5,
    },
    maxCycles: 5,
    ...overrides,
  });
}

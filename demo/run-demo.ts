// README command 1 (`npm run demo`): a real migration on the embedded defaults, offline, on CPU.
// Teacher and judge: a real small instruct model served on loopback through the OpenAI wire protocol.
// Student: the trainer's small built-in model, fine-tuned on CPU through the local GPU backend.
// Everything else is the production path: dev server, workers, ingest, synthesis, curation, judging, report.
import path from 'node:path';
import { MigrationConfig } from '../common/config';
import { runEmbedded } from '../cli/embedded';
import { startLocalModelServer } from './local-model/server';

const DOLLY = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  'shared',
  'data',
  'raw',
  'dolly15k',
  'databricks-dolly-15k.jsonl',
);

const started = Date.now();
console.log('[demo] starting the local teacher/judge model (SmolLM2-135M-Instruct, llama.cpp on CPU)');
const model = await startLocalModelServer({ port: 0 });
console.log(`[demo] model ${model.modelId} at ${model.url}`);
// llama.cpp here decodes one request at a time: more in flight would only queue into client timeouts
const local = {
  concurrency: 1,
  provider: 'openai-compatible' as const,
  model: model.modelId,
  baseURL: model.url,
  temperature: 0.7,
};

try {
  const config = MigrationConfig.parse({
    name: process.env.DEMO_NAME ?? 'demo-classification',
    dataset: { path: DOLLY, categories: ['classification'], limit: Number(process.env.DEMO_RECORDS ?? 240) },
    split: { testRatio: 0.05, seed: 42 },
    baseModel: process.env.DEMO_BASE_MODEL ?? 'builtin:tiny-random-llama',
    trainer: {
      method: 'lora',
      epochs: 1,
      batchSize: 8,
      gradientAccumulation: 1,
      maxSeqLength: 256,
      learningRate: 1e-3,
    },
    inference: { responsesPerPrompt: 1, maxNewTokens: 48, temperature: 0.7 },
    evaluation: {
      judges: [{ ...local, temperature: 0 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 50,
    },
    target: { metric: 'precision', statistic: 'mean', atLeast: 95 },
    synthesis: {
      teacher: { ...local, maxOutputTokens: 200 },
      samplesPerRequest: 2,
      initialVolume: Number(process.env.DEMO_SYNTHETIC ?? 12),
      requestsPerShard: 10,
      concurrentShards: 2,
      maxRounds: 2,
    },
    budget: { maxUsd: 1 },
    maxCycles: Number(process.env.DEMO_CYCLES ?? 2),
    gpu: { kind: 'local', device: 'cpu' },
  });
  await runEmbedded(config, { json: false });
} finally {
  await model.close();
  console.log(`[demo] finished in ${Math.round((Date.now() - started) / 1000)} s`);
}

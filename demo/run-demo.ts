// README command 1 (`npm run demo`): a real migration on the embedded defaults, offline, on CPU.
// Task: route a user request to one of four request types (demo/data: 300 Dolly instructions, labelled with
// their Dolly category). Teacher and judge: SmolLM2-135M-Instruct (GGUF) served on loopback through the
// OpenAI wire protocol. Student: the same model as a transformers checkpoint (dequantized from that GGUF by
// setup), fine-tuned with LoRA on CPU through the local GPU backend. Everything else is the production path:
// dev server, workers, ingest, teacher baseline, base-student measurement, synthesis, curation, judging,
// the exact-match score against the reference labels, report.
//
// Environment: DEMO_SEED (split, training and sampling seed; default 42), DEMO_NAME, DEMO_CYCLES,
// DEMO_SYNTHETIC, DEMO_BASE_MODEL (another model directory or builtin).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MigrationConfig } from '../common/config';
import { runEmbedded } from '../cli/embedded';
import { errorParagraph } from '../cli/failure-paragraph';
import { LogFile } from '../cli/log-file';
import { startLocalModelServer } from './local-model/server';

const root = path.resolve(import.meta.dirname, '..');
const DATASET = path.join(root, 'demo', 'data', 'request-types.jsonl');
const tools = process.env.LLAMADUO_TOOLS ?? path.join(root, '.tools');
const student = process.env.DEMO_BASE_MODEL ?? path.join(tools, 'demo-student');
if (!student.startsWith('builtin:') && !existsSync(path.join(student, 'config.json'))) {
  console.error(
    `[demo] the student model is missing at ${student}: run \`bash scripts/setup-demo-student.sh\` (or \`npm run demo\`, which runs setup first)`,
  );
  process.exit(1);
}
const seed = Number(process.env.DEMO_SEED ?? 42);

const started = Date.now();
console.log('[demo] starting the local teacher/judge model (SmolLM2-135M-Instruct, llama.cpp on CPU)');
let model: Awaited<ReturnType<typeof startLocalModelServer>> | undefined;
try {
  model = await startLocalModelServer({ port: 0 });
  console.log(`[demo] model ${model.modelId} at ${model.url}`);
  // llama.cpp here decodes one request at a time: more in flight would only queue into client timeouts
  const local = {
    concurrency: 1,
    provider: 'openai-compatible' as const,
    model: model.modelId,
    baseURL: model.url,
    temperature: 0.7,
  };
  const config = MigrationConfig.parse({
    name: process.env.DEMO_NAME ?? 'demo-request-types',
    // 160 of the 300 records (drawn with the seed), 16 of them held out for testing: sized so that two
    // cycles of LoRA on 2 CPU cores and ~64 judge calls to a 135M model fit in about 15 minutes
    dataset: { path: DATASET, limit: Number(process.env.DEMO_RECORDS ?? 160) },
    // by label: the 16 test prompts hold every request type in proportion, not as the draw falls
    split: { testRatio: 0.1, seed, stratifyBy: 'response' },
    baseModel: student,
    trainer: {
      method: 'lora',
      epochs: 1,
      // packed rows of 2 x 256 tokens: about 20 optimizer steps over 144 examples
      batchSize: 2,
      gradientAccumulation: 1,
      maxSeqLength: 256,
      learningRate: 1e-3,
      seed,
    },
    // greedy decoding: the label a model gives, not a sample of it
    inference: { responsesPerPrompt: 1, maxNewTokens: 8, temperature: 0, seed },
    evaluation: {
      judges: [{ ...local, temperature: 0 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 50,
      reference: { metric: 'exact-match' },
    },
    target: { metric: 'precision', statistic: 'mean', atLeast: 95 },
    synthesis: {
      teacher: { ...local, maxOutputTokens: 200 },
      // a 135M teacher gets about 1 in 12 samples past curation (its answers run long where a label is
      // wanted): more rounds, so a cycle is rarely left with none (the workflow fails on zero accepted)
      samplesPerRequest: 3,
      initialVolume: Number(process.env.DEMO_SYNTHETIC ?? 8),
      requestsPerShard: 10,
      concurrentShards: 2,
      maxRounds: 4,
    },
    budget: { maxUsd: 1 },
    maxCycles: Number(process.env.DEMO_CYCLES ?? 2),
    gpu: { kind: 'local', device: 'cpu' },
  });
  await runEmbedded(config, { json: false });
} catch (err) {
  // a failed migration already printed its paragraph inside runEmbedded; this is everything else (a dev
  // server that would not start, a port in use, a report that could not be written): one paragraph here,
  // the whole chain with stack traces in the log file
  const log = new LogFile();
  log.failure('demo failed', err);
  console.error(`[demo] ${errorParagraph(err, log.file)}`);
  process.exitCode = 1;
} finally {
  await model?.close();
  console.log(`[demo] finished in ${Math.round((Date.now() - started) / 1000)} s`);
}

// The zod side of the trainer contract against files the trainer really wrote
// (k8s/trainer/contract-examples, kept current by k8s/trainer/tests/test_contract_examples.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FinetuneSpec,
  GenerateSpec,
  GenerationRecord,
  parseTrainerEvent,
  TrainerResult,
  trainerContractJsonSchema,
} from '../../../activities/gpu/trainer-contract';

const dir = join(import.meta.dirname, '../../../k8s/trainer/contract-examples');
const json = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const lines = (name: string): string[] => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);

test('result.json of a finetune, a generate and a failed run parse', () => {
  const ft = TrainerResult.parse(json('finetune-result.json'));
  assert.equal(ft.status, 'succeeded');
  assert.ok(ft.command === 'finetune' && ft.status === 'succeeded' && ft.method === 'lora');
  const gen = TrainerResult.parse(json('generate-result.json'));
  assert.ok(gen.command === 'generate' && gen.status === 'succeeded');
  assert.equal(gen.metrics.samples, gen.metrics.prompts * 2);
  const failed = TrainerResult.parse(json('failed-result.json'));
  assert.ok(failed.status === 'failed' && /field 'response'/.test(failed.error.message));
});

test('a manifest missing what the backend needs is rejected', () => {
  const ft = json('finetune-result.json') as Record<string, unknown>;
  assert.equal(TrainerResult.safeParse({ ...ft, method: undefined }).success, false);
  assert.equal(TrainerResult.safeParse({ ...ft, versions: { python: '3.11' } }).success, false);
  assert.equal(TrainerResult.safeParse({ ...ft, status: 'done' }).success, false);
});

test('every stdout line of the example runs is a known event', () => {
  const events = lines('events.jsonl').map(parseTrainerEvent);
  assert.ok(events.every((e) => e !== undefined));
  const kinds = new Set(events.map((e) => e!.event));
  assert.deepEqual([...kinds].sort(), ['checkpoint', 'done', 'error', 'progress']);
  assert.equal(parseTrainerEvent('Loading weights...'), undefined);
  assert.equal(parseTrainerEvent('{"event":"progress"}'), undefined);
});

test('generation lines parse', () => {
  for (const line of lines('generations.jsonl')) GenerationRecord.parse(JSON.parse(line));
});

test('specs: defaults fill in, relative paths and unknown fields are refused', () => {
  const spec = FinetuneSpec.parse({
    baseModel: 'builtin:tiny-random-llama',
    datasets: ['/a/train.jsonl'],
    outputDir: '/a/out',
  });
  assert.equal(spec.method, 'qlora');
  assert.equal(FinetuneSpec.safeParse({ ...spec, datasets: ['a/train.jsonl'] }).success, false);
  assert.equal(FinetuneSpec.safeParse({ ...spec, train: { lr: 1 } }).success, false);
  assert.equal(spec.train.batchSize, 4);
  assert.equal(spec.train.maxSteps, null);
  const gen = GenerateSpec.parse({ baseModel: 'x', prompts: '/a/test.jsonl', outputDir: '/a/gen' });
  assert.equal(gen.adapterDir, null);
});

test('k8s/trainer/contract-schema.json (what the Python tests check against) is current', () => {
  const committed = json('../contract-schema.json');
  assert.deepEqual(
    committed,
    JSON.parse(JSON.stringify(trainerContractJsonSchema())),
    'run: bash scripts/node-env.sh tsx scripts/gen-trainer-contract.ts',
  );
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loraForVolume, MigrationConfig, syntheticVolumeForCycle } from '../../../common/config';
import { testConfig } from '../../helpers/test-config';

describe('migration config', () => {
  it('applies the paper defaults', () => {
    const c = testConfig();
    assert.equal(c.trainer.maxSeqLength, 1024);
    assert.equal(c.trainer.loraDropout, 0.05);
    assert.equal(c.trainer.lrScheduler, 'cosine');
    assert.equal(c.gpu.kind, 'local');
  });

  it('picks LoRA rank/alpha by volume as in Table 5', () => {
    const t = testConfig().trainer;
    assert.deepEqual(loraForVolume(t, 1000), { rank: 8, alpha: 16 });
    assert.deepEqual(loraForVolume(t, 16_000), { rank: 8, alpha: 16 });
    assert.deepEqual(loraForVolume(t, 32_000), { rank: 16, alpha: 32 });
    assert.deepEqual(loraForVolume(t, 256_000), { rank: 32, alpha: 64 });
  });

  it('grows the synthetic volume 1k * 2^n up to the cap', () => {
    const s = MigrationConfig.shape.synthesis.parse({
      teacher: { provider: 'openai', model: 'gpt-4o' },
      maxVolume: 8000,
    });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((c) => syntheticVolumeForCycle(s, c)),
      [0, 1000, 2000, 4000, 8000, 8000],
    );
  });

  it("the 'reach-max' schedule reaches maxVolume at the last cycle: the paper's 1k-256k in 10 cycles", () => {
    const paper = testConfig().synthesis;
    const s = { ...paper, initialVolume: 1000, maxVolume: 256_000, schedule: 'reach-max' as const };
    assert.deepEqual(
      Array.from({ length: 10 }, (_, c) => syntheticVolumeForCycle(s, c, 10)),
      [0, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000],
    );
    // eight cycles: seven synthetic volumes, ratio 256^(1/6) ≈ 2.52, still ending at 256k
    const eight = Array.from({ length: 8 }, (_, c) => syntheticVolumeForCycle(s, c, 8));
    assert.deepEqual(eight, [0, 1000, 2520, 6350, 16_000, 40_317, 101_594, 256_000]);
    // without maxCycles (or with the default schedule) the volumes double, capped at maxVolume
    assert.equal(syntheticVolumeForCycle(s, 7), 64_000);
    assert.equal(syntheticVolumeForCycle({ ...s, schedule: undefined }, 7, 8), 64_000);
  });

  it('reports field paths for bad configs', () => {
    const r = MigrationConfig.safeParse({ name: 'Bad Name', budget: { maxUsd: -1 } });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    for (const p of ['name', 'dataset', 'baseModel', 'evaluation', 'target', 'synthesis', 'budget.maxUsd'])
      assert.ok(paths.includes(p), p);
  });

  it('refuses unknown providers and secrets-looking keys in model entries', () => {
    const r = MigrationConfig.shape.synthesis.safeParse({ teacher: { provider: 'acme', model: 'x' } });
    assert.equal(r.success, false);
    const k = MigrationConfig.shape.synthesis.safeParse({
      teacher: { provider: 'openai', model: 'x', apiKey: 'sk-123' },
    });
    assert.equal(k.success, false, 'API keys are not accepted in the config');
  });

  it('rejects greedy decoding (temperature 0) with several responses per prompt, naming the field', () => {
    assert.throws(
      () => testConfig({ inference: { temperature: 0, responsesPerPrompt: 3 } }),
      (e: Error) =>
        /inference\.temperature|"temperature"/.test(e.message) && /responsesPerPrompt/.test(e.message),
    );
    const r = MigrationConfig.safeParse({
      ...testConfig(),
      inference: { temperature: 0, responsesPerPrompt: 3 },
    });
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error!.issues.map((i) => i.path.join('.')),
      ['inference.temperature'],
    );
    assert.equal(
      testConfig({ inference: { temperature: 0, responsesPerPrompt: 1 } }).inference.temperature,
      0,
    );
    assert.equal(
      testConfig({ inference: { temperature: 0.7, responsesPerPrompt: 3 } }).inference.responsesPerPrompt,
      3,
    );
  });

  it('keeps the GPU fast path off by default and names a bad fast-path value by its field', () => {
    const c = testConfig();
    assert.equal(c.trainer.attnImplementation, 'sdpa');
    assert.equal(c.trainer.kernels, 'none');
    assert.equal(c.trainer.compileLayers, false);
    assert.equal(c.inference.engine, 'transformers');
    const r = MigrationConfig.safeParse({
      ...testConfig(),
      trainer: { kernels: 'unsloth', compileLayers: 'yes', attnImplementation: 'flash' },
      inference: { engine: 'tgi' },
    });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => i.path.join('.')).sort(), [
      'inference.engine',
      'trainer.attnImplementation',
      'trainer.compileLayers',
      'trainer.kernels',
    ]);
    const fast = testConfig({
      trainer: { kernels: 'liger', compileLayers: true, attnImplementation: 'flash_attention_2' },
      inference: { engine: 'vllm' },
    });
    assert.equal(fast.trainer.kernels, 'liger');
    assert.equal(fast.inference.engine, 'vllm');
  });

  it('requires exactly one kind of target', () => {
    assert.equal(
      MigrationConfig.shape.target.safeParse({ atLeast: 80, relativeToTeacher: 0.9 }).success,
      false,
    );
    assert.equal(MigrationConfig.shape.target.safeParse({}).success, false);
  });
});

describe('credentials never in a config', () => {
  it('refuses a baseURL carrying a key', () => {
    for (const baseURL of [
      'https://user:sk-secret@proxy.example/v1',
      'https://proxy.example/v1?key=AIza123',
    ]) {
      const r = MigrationConfig.shape.synthesis.safeParse({
        teacher: { provider: 'openai-compatible', model: 'm', baseURL },
      });
      assert.equal(r.success, false, baseURL);
      assert.doesNotMatch(JSON.stringify(r.error!.issues.map((i) => i.message)), /sk-secret|AIza123/);
    }
    const ok = MigrationConfig.shape.synthesis.safeParse({
      teacher: { provider: 'openai-compatible', model: 'm', baseURL: 'http://127.0.0.1:8000/v1' },
    });
    assert.equal(ok.success, true);
  });
});

// The study file: a grid expands to one migration config per cell; bad input names file, line and field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidConfigError } from '../../../client/migrations';
import { parseStudyText } from '../../../client/study-file';

const GOOD = `name: paper
maxConcurrent: 3
budget: { maxUsd: 100 }
students: [builtin:tiny-random-llama, google/gemma-2b]
generators:
  - { provider: openai, model: gpt-4o }
  - { provider: anthropic, model: claude-3-5-sonnet-latest }
volumes: [100, 1000]
base:
  dataset: { path: data/train.jsonl }
  target: { metric: precision, statistic: coverage50, atLeast: 70 }
  synthesis: { samplesPerRequest: 5 }
  maxCycles: 2
`;

function issuesOf(text: string): InvalidConfigError {
  try {
    parseStudyText('/studies/s.yaml', text);
  } catch (err) {
    assert.ok(err instanceof InvalidConfigError, String(err));
    return err;
  }
  assert.fail('expected an InvalidConfigError');
}

describe('study file', () => {
  it('expands the grid: task × generator × student × volume, judges default to the generators', () => {
    const s = parseStudyText('/studies/s.yaml', GOOD);
    assert.equal(s.cells.length, 8);
    assert.equal(s.maxConcurrent, 3);
    assert.equal(s.maxUsd, 100);
    assert.equal(new Set(s.cells.map((c) => c.key)).size, 8);
    assert.equal(s.cells[0]!.key, 'task.tiny-random-llama.gpt-4o.v100');
    const c = s.cells.at(-1)!;
    assert.equal(c.config.baseModel, 'google/gemma-2b');
    assert.equal(c.config.synthesis.teacher.model, 'claude-3-5-sonnet-latest');
    assert.equal(c.config.synthesis.initialVolume, 1000);
    assert.deepEqual(
      c.config.evaluation.judges.map((j) => j.model),
      ['gpt-4o', 'claude-3-5-sonnet-latest'],
    );
    assert.equal(c.config.dataset.path, '/studies/data/train.jsonl', 'dataset relative to the study file');
    assert.match(c.config.name, /^paper-8$/);
  });

  it('a bad study field: file, line and field', () => {
    const err = issuesOf(GOOD.replace('maxConcurrent: 3', 'maxConcurrent: 0'));
    assert.match(err.message, /\/studies\/s\.yaml:2 field 'maxConcurrent'/);
  });

  it('a bad generator is reported at its own entry', () => {
    const err = issuesOf(GOOD.replace('{ provider: anthropic,', '{ provider: antropic,'));
    assert.match(err.message, /\/studies\/s\.yaml:7 field 'generators\.1\.provider': must be one of/);
  });

  it('a bad base migration field is reported under base, at its line', () => {
    const err = issuesOf(GOOD.replace('maxCycles: 2', 'maxCycles: 99'));
    assert.match(err.message, /\/studies\/s\.yaml:13 field 'base\.maxCycles'/);
    const unknown = issuesOf(GOOD.replace('maxCycles: 2', 'maxCycle: 2'));
    assert.match(unknown.message, /\/studies\/s\.yaml:13 field 'base': unknown field\(s\): maxCycle/);
  });

  it('an unknown top-level field, a missing axis, YAML syntax', () => {
    assert.match(
      issuesOf(`${GOOD}judge: []\n`).message,
      /s\.yaml:14 field '\(top level\)': unknown field\(s\): judge/,
    );
    assert.match(issuesOf(GOOD.replace(/students:.*\n/, '')).message, /field 'students': is required/);
    assert.match(issuesOf('name: [\n').message, /not valid YAML/);
  });

  it('the same model twice is refused', () => {
    const err = issuesOf(GOOD.replace('google/gemma-2b', 'builtin:tiny-random-llama'));
    assert.match(err.message, /same key/);
  });
});

describe('shipped study', () => {
  it("the paper's four tasks: 4 students × 3 generators, N = 4, No Robots' own split, up to the paper's volumes", async () => {
    const { loadStudyFile } = await import('../../../client/study-file');
    const { syntheticVolumeForCycle } = await import('../../../common/config');
    for (const [file, category, maxVolume] of [
      ['examples/study-paper-table1.yaml', 'Closed QA', 128_000],
      ['examples/study-paper-summarization.yaml', 'Summarize', 256_000],
      ['examples/study-paper-classification.yaml', 'Classify', 128_000],
      ['examples/study-paper-coding.yaml', 'Coding', 128_000],
    ] as const) {
      const s = await loadStudyFile(file);
      assert.equal(s.cells.length, 12, file);
      assert.equal(new Set(s.cells.map((c) => c.generator)).size, 3, file);
      for (const { config: c } of s.cells) {
        assert.equal(c.inference.responsesPerPrompt, 4, file);
        assert.deepEqual(c.dataset.categories, [category], file);
        assert.equal(c.split.field, 'split', file);
        assert.equal(c.economics?.gpuUsdPerHour, 0.8, file);
        // the paper's 1k·2^n: the last cycle asks for the task's maximum volume, the first for 1k
        const volumes = Array.from({ length: c.maxCycles }, (_, t) =>
          syntheticVolumeForCycle(c.synthesis, t, c.maxCycles),
        );
        assert.equal(volumes[1], 1000, file);
        assert.equal(volumes.at(-1), maxVolume, file);
        assert.ok(
          volumes.slice(2).every((v, i) => v === 2 * volumes[i + 1]!),
          `${file}: ${volumes}`,
        );
      }
    }
  });
});

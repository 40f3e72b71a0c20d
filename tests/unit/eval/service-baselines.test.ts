// evaluation.baselines: which service LLMs a migration judges besides its teacher (each once, under a label
// that artifact keys and evaluation subjects accept), and the service rows they become in the migration
// report's and the study's Table 1.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MigrationConfig } from '../../../common/config';
import { judgeTable } from '../../../report/tables';
import { table1 } from '../../../report/study-tables';
import { extraBaselines } from '../../../workflows/service-baselines';
import { testConfig } from '../../helpers/test-config';
import { study, summary } from '../study/study-fixture';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { evalOutputKey, teacherBaselineKeys } from '../../../activities/eval/eval-keys';
import { reportFixture } from '../report/report-fixture';

describe('evaluation.baselines', () => {
  it('measures each service LLM once, not the teacher again, under a key-safe label', () => {
    const config = testConfig({
      evaluation: {
        ...testConfig().evaluation,
        baselines: [
          { provider: 'anthropic', model: 'claude-sonnet-4-0' },
          { provider: 'openai', model: 'gpt-4o' }, // the teacher: already judged
          { provider: 'google', model: 'gemini-2.5-flash' },
          { provider: 'anthropic', model: 'claude-sonnet-4-0', temperature: 0 }, // the same model again
          { provider: 'openai-compatible', model: 'qwen', baseURL: 'http://vllm.local:8000/v1' },
        ],
      },
    });
    const b = extraBaselines(config);
    assert.deepEqual(
      b.map((x) => x.name),
      ['anthropic/claude-sonnet-4-0', 'google/gemini-2.5-flash', 'openai-compatible/qwen'],
    );
    assert.deepEqual(
      b.map((x) => x.label),
      [
        'baseline-0-anthropic-claude-sonnet-4-0',
        'baseline-1-google-gemini-2-5-flash',
        'baseline-2-openai-compatible-qwen-http-vllm-local-8000-v1',
      ],
    );
    // the labels are valid evaluation subjects and artifact key parts, and each baseline has its own folder
    const test = { uri: 'file:///t', sha256: 'a'.repeat(64), bytes: 1 };
    for (const { label } of b) {
      const keys = teacherBaselineKeys('m', test, label);
      assert.doesNotThrow(() => ArtifactStore.key('m', label));
      assert.notEqual(keys.generations, teacherBaselineKeys('m', test).generations);
      assert.doesNotThrow(() =>
        evalOutputKey(
          {
            migrationId: 'm',
            cycle: 0,
            subject: label,
            test,
            generations: test,
            evaluation: config.evaluation,
          },
          'summary.json',
        ),
      );
    }
    assert.deepEqual(extraBaselines(testConfig()), []);
  });

  it('is optional in the config and rejects a malformed model', () => {
    assert.equal(testConfig().evaluation.baselines, undefined);
    assert.throws(() =>
      MigrationConfig.parse({
        ...testConfig(),
        evaluation: { ...testConfig().evaluation, baselines: [{ provider: 'nobody', model: 'x' }] },
      }),
    );
  });

  it("becomes a service row in the migration report's Table 1 and in the study's", () => {
    const data = {
      ...reportFixture(),
      baselines: [{ model: 'google/gemini-2.5-flash', evaluation: summary({ j1: 66, j2: 64 }) }],
    };
    assert.match(judgeTable(data), /google\/gemini-2\.5-flash <span class="tag">service<\/span>/);
    // in a study: one more service row, once, however many cells judged it; gpt's own row is not repeated
    const cells = study.cells.map((c) => ({
      ...c,
      baselines: [
        { model: 'gemini', evaluation: summary({ j1: 95, j2: 95 }) },
        { model: 'gpt', evaluation: summary({ j1: 1, j2: 1 }) },
      ],
    }));
    const [t] = table1({ ...study, cells });
    assert.deepEqual(
      t!.rows.filter((r) => r.kind === 'service').map((r) => r.model),
      ['gpt', 'claude', 'gemini'],
    );
    // the best service is now gemini's 95: matching = 72 / 95
    assert.equal(t!.matching.j1!.precision.mean, (100 * 72) / 95);
  });
});

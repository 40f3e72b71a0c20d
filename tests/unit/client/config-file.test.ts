import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../client/config-file';
import { InvalidConfigError } from '../../../client/migrations';

const good = `name: support-bot
dataset:
  path: data/coverage.jsonl
baseModel: google/gemma-2b
evaluation:
  judges:
    - provider: openai
      model: gpt-4o
target:
  metric: precision
  atLeast: 85
synthesis:
  teacher:
    provider: anthropic
    model: claude-3-5-sonnet
`;

function issuesOf(text: string) {
  try {
    parseConfigText('m.yaml', text);
  } catch (err) {
    assert.ok(err instanceof InvalidConfigError, String(err));
    return { message: err.message, issues: err.issues };
  }
  assert.fail('expected an InvalidConfigError');
}

describe('config files', () => {
  it('parses YAML and JSON alike, applying defaults', () => {
    const y = parseConfigText('m.yaml', good);
    assert.equal(y.evaluation.repeats, 3);
    const j = parseConfigText('m.json', JSON.stringify(y));
    assert.deepEqual(j, y);
  });

  it('names file, line and field of each problem', () => {
    const { message, issues } = issuesOf(
      good.replace('atLeast: 85', 'atLeast: 185').replace('provider: openai', 'provider: acme'),
    );
    assert.match(
      message,
      /m\.yaml:7 field 'evaluation\.judges\.0\.provider': must be one of "openai", "anthropic", "google", "openai-compatible"/,
    );
    assert.match(message, /m\.yaml:11 field 'target\.atLeast'/);
    assert.equal(issues.length, 2);
  });

  it('validates the curation thresholds, naming line and field', () => {
    const dedup = (lines: string) => issuesOf(good + '  dedup:\n' + lines).message;
    assert.match(
      dedup('    thresholds: relative\n'),
      /m\.yaml:17 field 'synthesis\.dedup\.thresholds': must be one of "calibrated", "absolute"/,
    );
    assert.match(
      dedup('    calibrationPercentile: 95\n'),
      /m\.yaml:17 field 'synthesis\.dedup\.calibrationPercentile'/,
    );
    assert.match(
      dedup('    numPerm: 100\n    bands: 32\n'),
      /field 'synthesis\.dedup\.numPerm': numPerm must be a multiple of bands/,
    );
    const y = parseConfigText('m.yaml', good + '  dedup:\n    thresholds: absolute\n    templates: false\n');
    assert.equal(y.synthesis.dedup.thresholds, 'absolute');
    assert.equal(y.synthesis.dedup.templates, false);
    assert.equal(parseConfigText('m.yaml', good).synthesis.dedup.thresholds, 'calibrated');
  });

  it('reports unknown fields (a typo must not be ignored)', () => {
    const { message } = issuesOf(good + 'maxCycle: 3\n');
    assert.match(message, /unknown field\(s\): maxCycle/);
  });

  it('reports syntax errors with their line', () => {
    const { message } = issuesOf('name: x\ndataset: [\n');
    assert.match(message, /m\.yaml:\d+: /);
  });

  it('refuses negative budgets and wrong types', () => {
    const { message } = issuesOf(good + 'budget:\n  maxUsd: -5\nmaxCycles: "three"\n');
    assert.match(message, /m\.yaml:17 field 'budget\.maxUsd'/);
    assert.match(message, /field 'maxCycles': .*number/i);
  });
});

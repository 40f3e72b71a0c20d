// Which API keys an embedded run needs before it starts, by the worker's own rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MigrationConfig } from '../../../common/config';
import { missingApiKeys, missingKeysMessage } from '../../../cli/api-keys';

const config = (teacher: object, judges: object[]) =>
  MigrationConfig.parse({
    name: 'keys',
    dataset: { path: 'data.jsonl' },
    baseModel: 'builtin:tiny-random-llama',
    evaluation: { judges },
    target: { metric: 'precision', atLeast: 50 },
    synthesis: { teacher },
  });

describe('missing API keys', () => {
  const c = config({ provider: 'openai', model: 'gpt-4o' }, [
    { provider: 'openai', model: 'gpt-4o' },
    { provider: 'anthropic', model: 'claude-3-5-sonnet-20240620' },
    { provider: 'google', model: 'gemini-1.5-flash' },
  ]);

  it('lists each variable once with every model that reads it', () => {
    assert.deepEqual(missingApiKeys(c, {}), [
      { variable: 'OPENAI_API_KEY', usedBy: ['teacher openai/gpt-4o', 'judge openai/gpt-4o'] },
      { variable: 'ANTHROPIC_API_KEY', usedBy: ['judge anthropic/claude-3-5-sonnet-20240620'] },
      { variable: 'GEMINI_API_KEY', usedBy: ['judge google/gemini-1.5-flash'] },
    ]);
    assert.deepEqual(
      missingApiKeys(c, { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k', GEMINI_API_KEY: 'k' }),
      [],
    );
  });

  it('a self-hosted openai-compatible server needs none; apiKeyEnv names the variable', () => {
    const local = { provider: 'openai-compatible', model: 'm', baseURL: 'http://127.0.0.1:1/v1' };
    assert.deepEqual(missingApiKeys(config(local, [local]), {}), []);
    const named = config({ ...local, apiKeyEnv: 'MY_KEY' }, [
      { provider: 'openai', model: 'x', apiKeyEnv: 'MY_KEY' },
    ]);
    assert.deepEqual(
      missingApiKeys(named, {}).map((m) => m.variable),
      ['MY_KEY'],
    );
    assert.deepEqual(missingApiKeys(named, { MY_KEY: 'k' }), []);
  });

  it('the message names the variables and never a value', () => {
    const text = missingKeysMessage(
      missingApiKeys(c, { ANTHROPIC_API_KEY: 'sk-secret-value' }),
      'examples/m.yaml',
    );
    assert.match(
      text,
      /^cannot start examples\/m\.yaml: API keys are not set: OPENAI_API_KEY \(for teacher openai\/gpt-4o, judge openai\/gpt-4o\); GEMINI_API_KEY/,
    );
    assert.match(text, /Export OPENAI_API_KEY and GEMINI_API_KEY/);
    assert.match(
      missingKeysMessage(missingApiKeys(c, {})),
      /^cannot start: API keys are not set: .* Export OPENAI_API_KEY, ANTHROPIC_API_KEY and GEMINI_API_KEY in this shell/,
    );
    assert.doesNotMatch(text, /sk-secret-value|ANTHROPIC/);
  });
});

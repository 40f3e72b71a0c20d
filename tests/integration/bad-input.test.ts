// The bad-input corpus (tests/fixtures/bad-input, expected errors in expected.json): each file gets its own
// specific error naming file, line and field from `llamaduo validate` and from startMigration, and nothing
// is started or written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { InvalidConfigError, MigrationClient } from '../../client/migrations';
import { startTestEnv } from '../helpers/temporal-env';

const DIR = path.resolve(import.meta.dirname, '..', 'fixtures', 'bad-input');
const CLI = path.resolve(import.meta.dirname, '..', '..', 'cli', 'llamaduo.ts');
const expected: Record<string, string> = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
const run = promisify(execFile);

/** A valid config around a dataset file, so the dataset is the only problem. */
function configFor(dataFile: string) {
  return {
    name: 'bad-input',
    dataset: { path: path.join(DIR, dataFile) },
    baseModel: 'builtin:tiny-random-llama',
    evaluation: { judges: [{ provider: 'openai', model: 'gpt-4o' }] },
    target: { atLeast: 80 },
    synthesis: { teacher: { provider: 'openai', model: 'gpt-4o' } },
  };
}

describe('bad-input corpus', () => {
  let env: TestWorkflowEnvironment;
  let work: string;
  before(async () => {
    env = await startTestEnv();
    work = await mkdtemp(path.join(tmpdir(), 'llamaduo-bad-'));
  });
  after(async () => {
    await env?.teardown();
    await rm(work, { recursive: true, force: true });
  });

  it('has at least 20 files, each with an expected error', async () => {
    const files = (await readdir(DIR)).filter((f) => /^(config|data)-/.test(f));
    assert.ok(files.length >= 20, `${files.length} files`);
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  it('llamaduo validate prints each specific error and exits 2', async () => {
    const cases = Object.keys(expected);
    const failures: string[] = [];
    // four CLI processes at a time
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (file) => {
          let target = path.join(DIR, file);
          if (file.startsWith('data-')) {
            target = path.join(work, `${file}.json`);
            await writeFile(target, JSON.stringify(configFor(file)));
          }
          const r = await run(process.execPath, ['--import', 'tsx', CLI, 'validate', target], {
            env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
          }).then(
            () => ({ code: 0, stderr: '' }),
            (e: { code: number; stderr: string }) => e,
          );
          if (r.code !== 2) failures.push(`${file}: exit ${r.code}\n${r.stderr}`);
          else if (!new RegExp(expected[file]!).test(r.stderr))
            failures.push(`${file}: error does not match /${expected[file]}/:\n${r.stderr}`);
        }),
      );
    }
    assert.deepEqual(failures, []);
  });

  it('startMigration refuses each with the same error and starts nothing', async () => {
    const mc = new MigrationClient(env.client);
    const failures: string[] = [];
    for (const file of Object.keys(expected)) {
      let config: unknown;
      if (file.startsWith('data-')) config = configFor(file);
      else {
        try {
          config = parse(readFileSync(path.join(DIR, file), 'utf8'));
        } catch {
          continue; // a file that is not YAML/JSON at all never becomes a config object
        }
        if (config === null || config === undefined) continue;
      }
      try {
        await mc.startMigration(config as never, { source: file });
        failures.push(`${file}: started`);
      } catch (err) {
        if (!(err instanceof InvalidConfigError)) {
          failures.push(`${file}: ${err}`);
          continue;
        }
        // only a file has line numbers; the field and the problem are the same
        const pattern = file.startsWith('data-')
          ? expected[file]!
          : expected[file]!.replace(/^config-[\w-]+\\\.(yaml|json):(\\d\+|\d+) /, '');
        if (!new RegExp(pattern).test(err.message))
          failures.push(`${file}: /${pattern}/ not in\n${err.message}`);
      }
    }
    assert.deepEqual(failures, []);
    const started: string[] = [];
    for await (const w of env.client.workflow.list()) started.push(w.workflowId);
    assert.deepEqual(started, []);
    assert.equal(existsSync(path.join(process.cwd(), '.llamaduo', 'artifacts', 'bad-input')), false);
  });
});

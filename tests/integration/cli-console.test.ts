// What a person sees from `llamaduo start` in embedded mode (dev server and worker in the CLI process), run as a
// user runs it: a missing API key is refused before anything starts, and a migration that fails prints one
// paragraph, with the SDK's logs and the stack traces in the log file instead of on the console.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startOpenAiServer } from '../servers';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'cli', 'llamaduo.ts');
const DATA = path.resolve(import.meta.dirname, '..', 'fixtures', 'console', 'sentiment.jsonl');
const run = promisify(execFile);
const STACK_FRAME = /^\s+at /m;
const WRONG_KEY = 'sk-console-test-wrong-0123456789';

describe('llamaduo start, embedded: what the console shows', () => {
  let dir: string;
  let provider: Awaited<ReturnType<typeof startOpenAiServer>>;

  /** The CLI in a clean environment: no provider keys, no TEMPORAL_ADDRESS, state under a temp LLAMADUO_HOME. */
  async function cli(env: Record<string, string>, ...args: string[]) {
    const base = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/_API_KEY$/.test(k) && !k.startsWith('TEMPORAL_ADDRESS') && !k.startsWith('LLAMADUO_'),
      ),
    ) as Record<string, string>;
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
        env: {
          ...base,
          LLAMADUO_TOOLS: process.env.LLAMADUO_TOOLS ?? '',
          LLAMADUO_HOME: path.join(dir, 'home'),
          // never the default 7233/8233
          LLAMADUO_EMBEDDED_PORT: '0',
          LLAMADUO_EMBEDDED_UI_PORT: '0',
          ...env,
        },
        timeout: 180_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  const config = (model: Record<string, unknown>) => ({
    name: 'console-test',
    dataset: { path: DATA },
    split: { testRatio: 0.25, seed: 1 },
    baseModel: 'builtin:tiny-random-llama',
    evaluation: { judges: [model], repeats: 1 },
    target: { metric: 'precision', atLeast: 70 },
    synthesis: { teacher: model, initialVolume: 10 },
    maxCycles: 1,
    gpu: { kind: 'local', device: 'cpu' },
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-console-'));
    provider = await startOpenAiServer({ apiKey: 'sk-console-test-right', latencyMs: [0, 0] });
  });

  after(async () => {
    await provider?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing API key is refused with exit 2 and one clear message, before any server starts', async () => {
    const file = path.join(dir, 'openai.yaml');
    await writeFile(file, stringify(config({ provider: 'openai', model: 'gpt-4o' })));
    const r = await cli({}, 'start', file, '--embedded');
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^cannot start .*openai\.yaml: an API key is not set: OPENAI_API_KEY \(for teacher openai\/gpt-4o, judge openai\/gpt-4o\)\. Export OPENAI_API_KEY/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, STACK_FRAME);
    assert.equal(existsSync(path.join(dir, 'home', 'temporal.sqlite')), false, 'no dev server was started');
  });

  it('a failed migration prints one paragraph, no stack frames; the log file holds the details', async () => {
    const file = path.join(dir, 'wrong-key.yaml');
    await writeFile(
      file,
      stringify(
        config({ provider: 'openai', model: 'gpt-4o', baseURL: `${provider.url}/v1`, concurrency: 1 }),
      ),
    );
    const r = await cli({ OPENAI_API_KEY: WRONG_KEY }, 'start', file, '--embedded', '--id', 'console-fail');
    const console = r.stdout + r.stderr;
    assert.equal(r.code, 1, console);
    assert.doesNotMatch(console, STACK_FRAME, console);
    assert.doesNotMatch(console, /No (activities|workflows) registered/, 'SDK warnings stay in the log file');
    const logFile = path.join(dir, 'home', 'logs', 'llamaduo.log');
    const paragraphs = r.stderr.split(/\n\s*\n/).filter((p) => p.trim());
    assert.equal(paragraphs.length, 1, r.stderr);
    const paragraph = paragraphs[0]!.trim();
    assert.doesNotMatch(paragraph, /\n/, 'one paragraph');
    assert.match(
      paragraph,
      /^Migration console-fail failed in the teacher-baseline stage \(activity teacherBaseline\): openai gpt-4o: 401 authentication failed \(check the API key variable\)\. Check the API key variable/,
    );
    assert.ok(paragraph.includes(logFile), paragraph);
    assert.match(paragraph, /http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/console-fail/);
    assert.match(r.stdout, /migration console-fail started/);
    assert.match(r.stdout, /teacher-baseline/, 'the progress view was shown');
    assert.match(r.stdout, /status failed/, 'the last frame says how it ended');

    const log = await readFile(logFile, 'utf8');
    assert.match(log, /WARN {2}No activities registered, not polling for activity tasks/);
    assert.match(log, /WARN {2}Activity failed/);
    assert.match(log, /ERROR migration console-fail ended FAILED in stage teacher-baseline/);
    assert.match(log, /caused by: ApplicationFailure: openai gpt-4o: 401 authentication failed/);
    assert.match(log, /"type":"LlmError:other"/);
    assert.match(log, STACK_FRAME);
    assert.ok(!(console + log).includes(WRONG_KEY), 'the key never reaches the console or the log');
    assert.ok(provider.stats.unauthorized >= 1, 'the teacher really called the provider');
  });

  it('--verbose shows the SDK logs on the console as well', async () => {
    const file = path.join(dir, 'wrong-key.yaml');
    const r = await cli(
      { OPENAI_API_KEY: WRONG_KEY },
      '--verbose',
      'start',
      file,
      '--embedded',
      '--id',
      'console-verbose',
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /WARN {2}No activities registered, not polling for activity tasks/);
    assert.match(r.stdout, /WARN {2}Activity failed/);
    assert.match(r.stderr, /^Migration console-verbose failed in the teacher-baseline stage/m);
    assert.ok(!(r.stdout + r.stderr).includes(WRONG_KEY));
  });
});

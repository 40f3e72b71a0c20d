// What the suite runners (tests/{flows,storage,k8s}/run.ts) share: run a folder's *.test.ts files (or those
// whose path contains one of the command-line words) under node --test, the spec report on stdout and a TAP
// copy to count from. Returns the counts; a run that failed without a failing test counts one failure.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TapSuiteOptions {
  /** the folder whose *.test.ts files run */
  dir: string;
  /** search sub-folders too */
  recursive?: boolean;
  /** run only files whose path contains one of these (default: the command line's arguments) */
  only?: string[];
  /** how many test files run at once (node --test's --test-concurrency); default 1 */
  concurrency?: number;
  /** extra environment for the test processes */
  env?: Record<string, string>;
}

export interface TapSuiteResult {
  files: number;
  passed: number;
  failed: number;
}

export async function runTapSuite(opts: TapSuiteOptions): Promise<TapSuiteResult> {
  const files = (await readdir(opts.dir, { recursive: opts.recursive ?? false }))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(opts.dir, f));
  const only = opts.only ?? process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  const tmp = await mkdtemp(path.join(tmpdir(), 'llamaduo-tap-'));
  const tap = path.join(tmp, 'results.tap');
  try {
    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        'tsx',
        [
          '--test',
          `--test-concurrency=${opts.concurrency ?? 1}`,
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          '--test-reporter=tap',
          `--test-reporter-destination=${tap}`,
          ...selected,
        ],
        { stdio: 'inherit', env: { ...process.env, ...opts.env } },
      );
      child.on('exit', (c) => resolve(c ?? 1));
    });
    const summary = await readFile(tap, 'utf8').catch(() => '');
    const passed = Number(/^# pass (\d+)/m.exec(summary)?.[1] ?? 0);
    let failed = Number(/^# fail (\d+)/m.exec(summary)?.[1] ?? 0);
    if (code !== 0 && failed === 0) failed = 1;
    return { files: selected.length, passed, failed };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

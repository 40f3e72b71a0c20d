// npm run test:study: the study flow on a real dev server with the real activities. Ends with
// `study: <n> passed, <m> failed`.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-study-run-'));
const tap = path.join(dir, 'results.tap');
const t0 = Date.now();
const code = await new Promise<number>((resolve) => {
  const child = spawn(
    'tsx',
    [
      '--test',
      '--test-concurrency=1',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      path.join(import.meta.dirname, 'study.test.ts'),
    ],
    { stdio: 'inherit' },
  );
  child.on('exit', (c) => resolve(c ?? 1));
});
const summary = await readFile(tap, 'utf8').catch(() => '');
const passed = Number(/^# pass (\d+)/m.exec(summary)?.[1] ?? 0);
let failed = Number(/^# fail (\d+)/m.exec(summary)?.[1] ?? 0);
if (code !== 0 && failed === 0) failed = 1;
await rm(dir, { recursive: true, force: true });
console.log(`[study] ${((Date.now() - t0) / 1000).toFixed(0)}s`);
console.log(`study: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// npm run test:flows: every user flow on a real dev server with the real activities (tests/flows/**/*.test.ts,
// one file at a time: each starts its own dev server, provider server and CPU trainer runs). The Kubernetes
// flows (cancel, terminate and the reaper) need the control plane and run in tests/k8s (npm run test:k8s).
// Ends with `flows: <n> passed, <m> failed`.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const files = (await readdir(here, { recursive: true }))
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => path.join(here, f));
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-flows-run-'));
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
      ...selected,
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
console.log(`[flows] ${selected.length} files in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
console.log(
  '[flows] the Kubernetes flows (cancel deletes the Job and its pods, terminate -> the reaper) run in the k8s suite: tests/k8s/migration-gpu-cleanup.test.ts',
);
console.log(`flows: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

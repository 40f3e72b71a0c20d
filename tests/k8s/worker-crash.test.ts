// Crash safety: the worker process is killed (SIGKILL) while it waits on a Job; a new worker process
// adopts the same Job, exactly one Job exists, and the step completes.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { kubeconfigYaml } from './cluster';
import { gpuConfig, workerKubeConfig } from './env';
import { jobsOf, podsOf } from './helpers';

function startWorker(
  kubeconfig: string,
  migrationId: string,
): {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  next: (pred: (l: Record<string, unknown>) => boolean) => Promise<void>;
} {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'fixtures', 'worker.ts'),
      kubeconfig,
      JSON.stringify(gpuConfig('trainer:slow')),
      migrationId,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const obj = JSON.parse(line) as Record<string, unknown>;
    lines.push(obj);
    for (const w of waiters.filter((w) => w.pred(obj))) w.resolve();
  });
  const next = (pred: (l: Record<string, unknown>) => boolean) =>
    lines.some(pred)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push({ pred, resolve });
          proc.once('exit', (code) =>
            lines.some(pred) ? resolve() : reject(new Error(`worker exited ${code}`)),
          );
        });
  return { proc, lines, next };
}

describe('worker crash', () => {
  it('a restarted worker adopts the Job the killed one was waiting on', async () => {
    const kc = await workerKubeConfig();
    const user = kc.getCurrentUser()!;
    const file = path.join(process.env.TMPDIR ?? '/tmp', `llamaduo-worker-${process.pid}.kubeconfig`);
    await writeFile(file, kubeconfigYaml(kc.getCurrentCluster()!.server, user.name, user.token!), {
      mode: 0o600,
    });

    const first = startWorker(file, 'crash-restart');
    await first.next((l) => l.phase === 'running');
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    assert.equal((await jobsOf('crash-restart')).length, 1, 'the Job outlives the worker');

    const second = startWorker(file, 'crash-restart');
    await second.next((l) => l.done === true);
    assert.equal(second.lines[0]!.origin, 'adopted');
    const jobs = await jobsOf('crash-restart');
    assert.equal(jobs.length, 1, 'exactly one Job');
    assert.ok(jobs[0]!.status!.conditions!.some((c) => c.type === 'Complete' && c.status === 'True'));
    assert.equal((await podsOf(jobs[0]!.metadata!.name!)).length, 1, 'and it ran once');
  });
});

// npm run test:durability
// Runs migrations on a real dev server while the worker process is SIGKILLed at random points and restarted.
// Every migration must complete with the same result as an uninterrupted run, and no stage's output may be
// written twice. Last line: `durability: <kills> kills, <completed>/<started> completed, <duplicates> duplicate outputs`.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationResult } from '../../common/progress';
import { seededRandom } from '../../common/random';
import { startDevServer } from '../../client/dev-server';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { writeWorkflowBundle } from '../helpers/bundle-file';
import { testConfig } from '../helpers/test-config';

const MIGRATIONS = Number(process.env.DURABILITY_MIGRATIONS ?? 3);
const MIN_KILLS = Number(process.env.DURABILITY_KILLS ?? 12);
const rand = seededRandom(Number(process.env.DURABILITY_SEED ?? 2026));

const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-durability-'));
const server = await startDevServer({ dbFile: path.join(dir, 'temporal.sqlite') });
const bundle = await writeWorkflowBundle(dir);
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

function startWorker(artifacts: string, ledger: string): Promise<ChildProcess> {
  const child = fork(path.join(import.meta.dirname, 'fake-worker.ts'), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      ARTIFACTS: artifacts,
      LEDGER: ledger,
      WORKFLOW_BUNDLE: bundle,
      GPU_MS: '700',
      SHARD_MS: '150',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

function ledgerDuplicates(ledger: string): number {
  if (!existsSync(ledger)) return 0;
  const keys = readFileSync(ledger, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).key as string);
  return keys.length - new Set(keys).size;
}

/** A result without what legitimately differs between two migrations: their ids. */
function normalized(result: MigrationResult): string {
  // the report carries the time it was written, so only its presence is compared
  const { report, ...rest } = result;
  return JSON.stringify({ ...rest, report: Boolean(report) }).replaceAll(result.migrationId, '<id>');
}

async function runMigrations(prefix: string, maxKills: number) {
  const artifacts = path.join(dir, prefix, 'artifacts');
  const ledger = path.join(dir, prefix, 'ledger.jsonl');
  let worker = await startWorker(artifacts, ledger);
  const ids = Array.from({ length: MIGRATIONS }, (_, i) => `${prefix}-${i}`);
  const handles = await Promise.all(
    ids.map((id, i) =>
      client.workflow.start(migrationWorkflow, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: id,
        args: [
          {
            migrationId: id,
            config: testConfig({ name: id, split: { testRatio: 0.1, seed: 7 + i, stratifyBy: 'category' } }),
            tuning: { heartbeatTimeout: '2s' },
          },
        ],
      }),
    ),
  );
  let kills = 0;
  let settled = 0;
  const results = Promise.allSettled(handles.map((h) => h.result())).finally(() => void (settled = 1));
  while (kills < maxKills && !settled) {
    await new Promise((r) => setTimeout(r, 1000 + rand() * 3000));
    if (settled) break;
    worker.kill('SIGKILL');
    kills++;
    await new Promise((r) => worker.once('exit', r));
    worker = await startWorker(artifacts, ledger);
  }
  const outcomes = await results;
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  return { outcomes, kills, duplicates: ledgerDuplicates(ledger) };
}

let failed = false;
try {
  const reference = await runMigrations('calm', 0);
  // Keep killing until at least MIN_KILLS happened: start further rounds of migrations if they finish first.
  let kills = 0;
  let started = 0;
  let completed = 0;
  let duplicates = reference.duplicates;
  let mismatches = 0;
  for (let round = 0; kills < MIN_KILLS && round < 5; round++) {
    const chaos = await runMigrations(`killed${round}`, MIN_KILLS - kills);
    kills += chaos.kills;
    duplicates += chaos.duplicates;
    started += chaos.outcomes.length;
    chaos.outcomes.forEach((o, i) => {
      const ref = reference.outcomes[i]!;
      if (o.status !== 'fulfilled') {
        console.error(`migration ${i} of round ${round} failed:`, o.reason);
        return;
      }
      completed++;
      if (ref.status !== 'fulfilled' || normalized(o.value) !== normalized(ref.value)) {
        mismatches++;
        console.error(`migration ${i} of round ${round} differs from the uninterrupted run`);
      }
    });
  }
  failed = kills < MIN_KILLS || completed !== started || duplicates > 0 || mismatches > 0;
  if (mismatches) console.error(`${mismatches} result(s) differ from the uninterrupted run`);
  console.log(
    `durability: ${kills} kills, ${completed}/${started} completed, ${duplicates} duplicate outputs`,
  );
} finally {
  await connection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

// Records histories with the REAL activities for the replay test (tests/integration/replay.test.ts): the CPU
// trainer with its built-in tiny model through the local GPU backend, a local OpenAI-protocol server as
// teacher and judge (the flow tests' harness). Scenarios: target and budget updates across continue-as-new and
// a synthesis child, promotion (first run promoted, second compared against it), an activity failure, and a
// cancel during fine-tune, a budget stop (the budget lowered during synthesis: ends budget-exhausted) and a
// batch wait (`batch: true` synthesis waiting on a provider batch, polled by a heartbeating activity), and the
// optional paths (service baselines, the compound stop rule, the reach-max schedule, the export). Run
// after a deliberate, patched workflow change:
//   npm run record:histories:real -- v2-real
// or only some scenarios: npm run record:histories:real -- v3-real budget-stop batch-wait
// Keep the old files: replaying the histories of earlier versions is what catches non-determinism.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUES } from '../common/activities';
import type { MigrationConfig } from '../common/config';
import { migrationWorkflow } from '../workflows/migration-workflow';
import { progressQuery, setBudgetUpdate, setTargetUpdate } from '../workflows/messages';
import { startFlowEnv } from '../tests/flows/harness';

const prefix = process.argv[2] ?? 'v2-real';
const only = process.argv.slice(3);
const wanted = (name: string) => only.length === 0 || only.includes(name);
const outDir = path.resolve(import.meta.dirname, '..', 'tests', 'histories');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const flow = await startFlowEnv();
flow.scoreOf = (owner) =>
  owner?.endsWith('promoted-second') ? 70 : owner?.endsWith('promoted-first') ? 60 : 50;
const client = flow.env.client;

const start = (name: string, config: MigrationConfig) =>
  client.workflow.start(migrationWorkflow, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: `${prefix}-${name}`,
    args: [{ migrationId: `${prefix}-${name}`, config, tuning: { heartbeatTimeout: '5s' } }],
  });

async function untilStage(handle: WorkflowHandle, stage: string) {
  for (let i = 0; i < 1500; i++) {
    if ((await handle.query(progressQuery)).stage === stage) return;
    await sleep(200);
  }
  throw new Error(`${handle.workflowId} never reached ${stage}`);
}

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'completed',
    (e: Error) => `closed: ${e.message}`,
  );

try {
  // updates, continue-as-new and a synthesis child: two cycles
  if (wanted('updates')) {
    const updates = await start('updates', flow.config(`${prefix}-updates`, { maxCycles: 2 }));
    await untilStage(updates, 'fine-tune');
    await updates.executeUpdate(setBudgetUpdate, { args: [25] });
    await updates.executeUpdate(setTargetUpdate, {
      args: [{ metric: 'precision', statistic: 'mean', atLeast: 99 }],
    });
    console.log(`updates: ${await settle(updates.result())}`);
  }

  // promotion: the first run is promoted, the second compared against it (re-generated, judged) and promoted
  for (const name of ['promoted-first', 'promoted-second'].filter(() => wanted('promotion'))) {
    const h = await start(name, flow.config(`${prefix}-${name}`, { promotion: { channel: 'recorded' } }));
    console.log(`${name}: ${await settle(h.result())}`);
  }

  // an activity failure: the trainer rejects an unknown built-in model
  if (wanted('failed')) {
    const failed = await start(
      'failed',
      flow.config(`${prefix}-failed`, { baseModel: 'builtin:no-such-model' }),
    );
    console.log(`failed: ${await settle(failed.result())}`);
  }

  // a cancel while the trainer runs
  if (wanted('cancelled')) {
    const cancelled = await start(
      'cancelled',
      flow.config(`${prefix}-cancelled`, {
        trainer: { method: 'lora', epochs: 400, batchSize: 1, maxSeqLength: 96, learningRate: 1e-3, seed: 1 },
      }),
    );
    await untilStage(cancelled, 'fine-tune');
    await sleep(3000);
    await cancelled.cancel();
    console.log(`cancelled: ${await settle(cancelled.result())}`);
  }

  // a budget stop: the budget lowered to what is spent while the synthesis child runs its shards
  if (wanted('budget-stop')) {
    const budget = await start('budget-stop', flow.config(`${prefix}-budget-stop`, { maxCycles: 2 }));
    await untilStage(budget, 'synthesize');
    const spent = (await budget.query(progressQuery)).spend.total.usd;
    await budget.executeUpdate(setBudgetUpdate, { args: [spent + 1e-6] });
    console.log(`budget-stop: ${await settle(budget.result())}`);
  }

  // a batch wait: the synthesis shards wait on provider batches
  if (wanted('batch-wait')) {
    const base = flow.config(`${prefix}-batch-wait`, { maxCycles: 2 });
    const batch = await start('batch-wait', {
      ...base,
      synthesis: { ...base.synthesis, teacher: { ...base.synthesis.teacher, batch: true } },
    });
    // each shard's activity waits on its batch across polls (LLAMADUO_BATCH_POLL_MS, 30 s by default)
    console.log(`batch-wait: ${await settle(batch.result())}`);
  }

  // the optional paths: service baselines, the compound stop rule, the reach-max schedule, the best adapter's export
  if (wanted('options')) {
    const base = flow.config(`${prefix}-options`, { maxCycles: 2 });
    const options = await start('options', {
      ...base,
      evaluation: { ...base.evaluation, baselines: [{ ...base.synthesis.teacher, model: 'gpt-4o-mini' }] },
      target: { ...base.target, bothMetrics: true },
      synthesis: { ...base.synthesis, schedule: 'reach-max' as const },
      export: { merged: true, gguf: false },
    });
    console.log(`options: ${await settle(options.result())}`);
  }

  for await (const exec of client.workflow.list()) {
    if (!exec.workflowId.startsWith(prefix)) continue;
    const history = await client.workflow.getHandle(exec.workflowId, exec.runId).fetchHistory();
    const file = path.join(outDir, `${encodeURIComponent(exec.workflowId)}@${exec.runId}.json`);
    await writeFile(file, historyToJSON(history));
    console.log(`recorded ${path.relative(process.cwd(), file)} (${history.events?.length} events)`);
  }
} finally {
  await flow.close();
}

// Scheduled re-migrations with promotion, through the real activities: the promoted adapter is re-generated
// under its own work id (so the comparison is not the new adapter against itself), a worse run leaves the
// promoted adapter in place and a better one replaces it, two runs racing on one channel leave the better
// adapter (compare-and-swap), and a manual trigger follows the schedule's overlap policy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { readFile } from 'node:fs/promises';
import { createSchedule, triggerSchedule } from '../../client/schedules';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationResult } from '../../common/progress';
import type { Promoted, PromoteInput } from '../../common/types';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { startFlowEnv, type FlowEnv } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Holds the first caller until a second one arrives (or the timeout), so two promotions really race. */
function barrier(parties: number, timeoutMs: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    if (++arrived >= parties) open();
    await Promise.race([opened, sleep(timeoutMs)]);
  };
}

/** The workflow a schedule started on its latest action. */
async function latestRun(client: Client, scheduleId: string, after = 0) {
  for (let i = 0; i < 300; i++) {
    const d = await client.schedule.getHandle(scheduleId).describe();
    if (d.info.recentActions.length > after)
      return client.workflow.getHandle(d.info.recentActions.at(-1)!.action.workflow.workflowId);
    await sleep(200);
  }
  throw new Error(`schedule ${scheduleId} started nothing`);
}

async function promotedOn(flow: FlowEnv, channel: string): Promise<Promoted> {
  return JSON.parse(await readFile(flow.store.path(`promotions/${channel}/current.json`), 'utf8'));
}

describe('scheduled promotion (real activities)', () => {
  let flow: FlowEnv;
  const duel = barrier(2, 120_000);
  before(async () => {
    flow = await startFlowEnv({
      activities: (real) => ({
        ...real,
        // the real promote, entered by both racing runs together
        promote: async (input: PromoteInput) => {
          if (input.channel === 'duel') await duel();
          return real.promote!(input);
        },
      }),
    });
    // whose adapter wrote an answer decides its score (see harness.ts)
    const scores: [RegExp, number][] = [
      [/sched-first/, 60],
      [/sched-worse/, 40],
      [/sched-better/, 90],
      [/duel-weaker/, 70],
      [/duel-stronger/, 80],
    ];
    flow.scoreOf = (owner) => scores.find(([re]) => owner && re.test(owner))?.[1] ?? 50;
  });
  after(async () => {
    await flow?.close();
  });

  async function scheduledRun(name: string): Promise<MigrationResult> {
    const config = flow.config(name, { promotion: { channel: 'support' } });
    await createSchedule(flow.env.client, config, { scheduleId: name, every: '30d', paused: true });
    await triggerSchedule(flow.env.client, name);
    return (await latestRun(flow.env.client, name)).result();
  }

  it('a worse scheduled run is not promoted and a better one is', async () => {
    const first = await scheduledRun('sched-first');
    assert.equal(first.promotion?.promoted, true, first.promotion?.reason);
    assert.equal(first.best?.score, 60);
    const v1 = await promotedOn(flow, 'support');
    assert.equal(v1.migrationId, first.migrationId);

    const worse = await scheduledRun('sched-worse');
    assert.equal(worse.best?.score, 40);
    assert.equal(worse.promotion?.promoted, false, worse.promotion?.reason);
    // the promoted adapter was re-generated and judged as itself, not this run's adapter again
    assert.equal(worse.promotion?.previousScoreOnThisSplit, 60);
    assert.ok(
      await flow.store.find(`${worse.migrationId}/cycle-0/generate-promoted-v1/out/generations.jsonl`),
      'the promoted adapter generated under its own work id',
    );
    assert.equal((await promotedOn(flow, 'support')).migrationId, first.migrationId);

    const better = await scheduledRun('sched-better');
    assert.equal(better.best?.score, 90);
    assert.equal(better.promotion?.previousScoreOnThisSplit, 60);
    assert.equal(better.promotion?.promoted, true, better.promotion?.reason);
    const v2 = await promotedOn(flow, 'support');
    assert.equal(v2.migrationId, better.migrationId);
    assert.equal(v2.version, 2);
  });

  it('two concurrent runs on one channel leave the better adapter', async () => {
    const start = (id: string) =>
      flow.env.client.workflow.start(migrationWorkflow, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: id,
        args: [{ migrationId: id, config: flow.config(id, { promotion: { channel: 'duel' } }) }],
      });
    const handles = [await start('duel-weaker'), await start('duel-stronger')];
    const [weaker, stronger] = await Promise.all(handles.map((h) => h.result()));
    assert.equal(weaker!.best?.score, 70);
    assert.equal(stronger!.best?.score, 80);
    const current = await promotedOn(flow, 'duel');
    assert.equal(current.migrationId, 'duel-stronger');
    // both read "nothing promoted" and swapped at once: exactly one lost, and compared again with the winner
    const conflicts: string[] = [];
    for (const h of handles) {
      const history = await h.fetchHistory();
      const lost = history.events?.some(
        (e) =>
          e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'PromotionConflict',
      );
      if (lost) conflicts.push(h.workflowId);
    }
    assert.equal(conflicts.length, 1, `one promotion lost the swap: ${conflicts.join(', ')}`);
    const loser = conflicts[0] === 'duel-weaker' ? weaker! : stronger!;
    assert.notEqual(loser.promotion?.previousScoreOnThisSplit, null, 'the loser compared with the winner');
  });

  it("a manual trigger follows the schedule's overlap policy (SKIP while a run is going)", async () => {
    const config = flow.config('sched-overlap', {
      trainer: { method: 'lora', epochs: 400, batchSize: 1, maxSeqLength: 96, learningRate: 1e-3, seed: 1 },
    });
    await createSchedule(flow.env.client, config, {
      scheduleId: 'sched-overlap',
      every: '30d',
      paused: true,
    });
    await triggerSchedule(flow.env.client, 'sched-overlap');
    const run = await latestRun(flow.env.client, 'sched-overlap');
    await triggerSchedule(flow.env.client, 'sched-overlap');
    await sleep(3000);
    const d = await flow.env.client.schedule.getHandle('sched-overlap').describe();
    assert.equal(d.info.recentActions.length, 1, 'the second trigger was skipped');
    assert.equal(d.info.runningActions.length, 1);
    await run.cancel();
    await assert.rejects(run.result());
  });
});

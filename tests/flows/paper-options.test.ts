// The paper-faithful options through a whole migration with the real activities: the dataset's own test
// split (split.field), the volume schedule that reaches maxVolume at the last cycle (synthesis.schedule
// 'reach-max'), the compound stop rule (target.bothMetrics) and service-LLM baselines besides the teacher
// (evaluation.baselines).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TASK_QUEUES } from '../../common/activities';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { DOLLY } from '../helpers/test-config';
import { startFlowEnv, type FlowEnv } from './harness';

describe("the paper's options in a migration", () => {
  let flow: FlowEnv;
  before(async () => {
    flow = await startFlowEnv();
    flow.scoreOf = (owner) => (owner === null ? 80 : 40);
  });
  after(() => flow?.close());

  it('tests on the records marked test and stops when both metrics reach the target', async () => {
    // 30 open_qa records of Dolly, the last 4 marked as the dataset's test split
    const rows = (await readFile(DOLLY, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { category: string; instruction: string })
      .filter((r) => r.category === 'open_qa')
      .slice(0, 30)
      .map((r, i) => ({ ...r, split: i >= 26 ? 'test' : 'train' }));
    const file = path.join(path.dirname(flow.store.root), 'own-split.jsonl');
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const base = flow.config('paper-options');
    const config = {
      ...base,
      dataset: { ...base.dataset, path: file, limit: undefined },
      split: { ...base.split, field: 'split', testRatio: 0.5 },
      target: { ...base.target, atLeast: 40, bothMetrics: true },
      maxCycles: 2,
    };
    const handle = await flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'paper-options',
      args: [{ migrationId: 'paper-options', config }],
    });
    const result = await handle.result();

    // the test split is the 4 marked records, whatever testRatio says
    const test = await flow.store.readAllJsonl<{ instruction: string }>('paper-options/data/test.jsonl');
    assert.deepEqual(
      test.map((r) => r.instruction).sort(),
      rows
        .slice(26)
        .map((r) => r.instruction)
        .sort(),
    );
    // both metrics at 40 ≥ 40: the compound rule stops at cycle 0, before any synthesis
    assert.equal(result.status, 'succeeded');
    assert.equal(result.cycles.length, 1);
    assert.equal(result.decisions[0]!.outcome, 'stop-target-met');
    assert.equal(result.cycles[0]!.score, 40);
  });

  it("'reach-max' asks for maxVolume at the last cycle (doubling would ask for 2 × initialVolume)", async () => {
    const base = flow.config('reach-max');
    const config = {
      ...base,
      synthesis: { ...base.synthesis, initialVolume: 6, maxVolume: 15, schedule: 'reach-max' as const },
      maxCycles: 3,
    };
    const handle = await flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'reach-max',
      args: [{ migrationId: 'reach-max', config }],
    });
    const result = await handle.result();
    assert.equal(result.status, 'target-not-met');
    assert.equal(result.cycles.length, 3);
    const [first, second] = result.syntheses;
    assert.equal(first!.wanted, 6);
    // the second synthesis tops the data up to 15, not to 12
    assert.equal(second!.wanted, 15 - first!.accepted);
  });

  it('judges the own answers of every service LLM in evaluation.baselines, the teacher once', async () => {
    const base = flow.config('paper-baselines');
    const teacher = base.synthesis.teacher;
    const config = {
      ...base,
      evaluation: {
        ...base.evaluation,
        // another service LLM, the teacher again (already judged) and the other one twice: one more row
        baselines: [{ ...teacher, model: 'gpt-4o-mini' }, teacher, { ...teacher, model: 'gpt-4o-mini' }],
      },
      maxCycles: 1,
    };
    const handle = await flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'paper-baselines',
      args: [{ migrationId: 'paper-baselines', config }],
    });
    const result = await handle.result();
    assert.deepEqual(
      result.baselines?.map((b) => b.model),
      ['openai/gpt-4o-mini'],
    );
    // judged like the teacher, on the same test prompts: the service answers score 80 (owner null)
    const all = result.baselines![0]!.evaluation.judges.find((j) => j.judge === 'all')!;
    assert.equal(all.precision.mean, 80);
    assert.equal(
      all.precision.samples,
      result.teacher!.judges.find((j) => j.judge === 'all')!.precision.samples,
    );
    // its answers under its own folder, not over the teacher's
    const keys = await flow.store.list('paper-baselines/baselines');
    assert.ok(
      keys.some((k) => /baseline-0-openai-gpt-4o-mini.*generations\.jsonl$/.test(k)),
      keys.join(', '),
    );
    // and the migration report shows it as a service row of Table 1
    const html = await readFile(flow.store.path(result.report!.uri), 'utf8');
    assert.match(html, /openai\/gpt-4o-mini <span class="tag">service<\/span>/);
  });
});

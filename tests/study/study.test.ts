// npm run test:study: a 2 × 2 study (two built-in students, two teachers that are also the judges, on the local
// OpenAI-protocol server) on a real dev server with the real activities (local GPU backend, CPU trainer).
// The workflow worker runs as its own process and is SIGKILLed while the cells run: the study resumes and
// every cell runs exactly once. The collated report has Table 1 with two service and two local rows,
// Figure 2's lines, Figure 3's densities, Table 4's token statistics and Table 2 / Figure 4's break-even,
// checked in headless Chromium. Cancelling a study cancels its running cell.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { chromium } from 'playwright-core';
import { getStudyProgress, startStudy } from '../../client/study';
import { loadStudyData } from '../../client/study-data';
import { parseStudyText } from '../../client/study-file';
import { renderStudyReport } from '../../report/study-render';
import { table1 } from '../../report/study-tables';
import { studyProgressQuery } from '../../workflows/study-messages';
import { startFlowEnv, type FlowEnv } from '../flows/harness';
import { startWorker, stopWorker, waitFor, type FlowEnv as ProcEnv } from '../flows/llm-flow-harness';
import { writeWorkflowBundle } from '../helpers/bundle-file';
import { DOLLY } from '../helpers/test-config';
import { chromiumPath } from '../unit/report/chromium';

const OUT = path.resolve('test-results');

/** The study file: the flow tests' one-cycle CPU migration as the base, a 2 × 2 grid. */
function studyYaml(name: string, url: string, opts: { students?: string[]; epochs?: number } = {}): string {
  const model = (m: string) =>
    `{ provider: openai, model: ${m}, baseURL: "${url}", rpm: 100000, tpm: 100000000 }`;
  const students = opts.students ?? ['builtin:tiny-random-llama', 'builtin:small-random-llama'];
  return `name: ${name}
maxConcurrent: 2
budget: { maxUsd: 20 }
students: [${students.map((s) => `"${s}"`).join(', ')}]
generators:
  - ${model('gpt-4o')}
  - ${model('gpt-4o-mini')}
base:
  dataset: { path: "${DOLLY}", categories: [open_qa], limit: 40 }
  split: { testRatio: 0.1, seed: 11 }
  trainer: { method: lora, epochs: ${opts.epochs ?? 1}, batchSize: ${opts.epochs ? 1 : 8}, maxSeqLength: 96, learningRate: 0.001, seed: 5 }
  inference: { responsesPerPrompt: 1, maxNewTokens: 12, temperature: 1, seed: 5 }
  evaluation: { repeats: 1, pairwise: false, judgeCallsPerShard: 8 }
  target: { metric: precision, statistic: mean, atLeast: 100 }
  synthesis: { samplesPerRequest: 3, initialVolume: 6, requestsPerShard: 2 }
  maxCycles: 1
  gpu: { kind: local, device: cpu }
`;
}

describe('study: a 2 × 2 grid of migrations collated into Table 1 and Figures 2-4, Tables 2 and 4 (real activities)', () => {
  let flow: FlowEnv;
  let proc: ProcEnv;
  let worker: ChildProcess;
  const startWorkflowWorker = () =>
    startWorker(proc, { LLAMADUO_QUEUES: 'workflow', LLAMADUO_ARTIFACTS: flow.store.root });

  before(async () => {
    // activities in this process (the judge scores by whose adapter wrote an answer); workflows in a child
    // process this test can SIGKILL
    flow = await startFlowEnv({ queues: ['data', 'llm', 'gpu'] });
    const dir = path.dirname(flow.store.root);
    proc = {
      env: flow.env,
      dir,
      artifacts: flow.store.root,
      bundle: await writeWorkflowBundle(dir),
      log: path.join(dir, 'workflow-worker.log'),
      close: async () => undefined,
    };
    worker = await startWorkflowWorker();
    // the teachers' own answers 80; the small student's 60, the tiny one's 40
    flow.scoreOf = (owner) => (owner === null ? 80 : owner.includes('small-random') ? 60 : 40);
  });
  after(async () => {
    if (worker) await stopWorker(worker, 'SIGKILL');
    await flow?.close();
  });

  it('runs every cell once through a workflow-worker kill; Table 1 has two service and two local rows', async () => {
    const input = parseStudyText('grid.yaml', studyYaml('grid', `${flow.provider.url}/v1`));
    assert.equal(input.cells.length, 4);
    const handle = await startStudy(flow.env.client, input, 'study-grid');

    // kill the workflow worker once the first cells run their migrations, then start a new one
    await waitFor(
      'two running cells',
      async () => {
        const p = await handle.query(studyProgressQuery);
        return p.cells.filter((c) => c.status === 'running').length === 2 ? true : undefined;
      },
      300_000,
    );
    await stopWorker(worker, 'SIGKILL');
    worker = await startWorkflowWorker();

    const result = await handle.result();
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      result.cells.map((c) => c.status),
      ['target-not-met', 'target-not-met', 'target-not-met', 'target-not-met'],
    );
    // one child per cell, each run once: unique ids, one execution each
    const ids = result.cells.map((c) => c.workflowId);
    assert.equal(new Set(ids).size, 4);
    for (const id of ids) {
      const runs = [];
      for await (const w of flow.env.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w);
      assert.equal(runs.length, 1, `${id}: one execution`);
    }
    let starts = 0;
    for (const e of (await handle.fetchHistory()).events ?? [])
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) starts++;
    assert.equal(starts, 4, 'four child starts in the study history');
    // one budget: every cell got a share, and the study spent no more than it had
    assert.ok(result.cells.every((c) => c.budgetUsd > 0 && c.budgetUsd <= 20));
    assert.ok(result.spentUsd > 0 && result.spentUsd <= 20, `spent ${result.spentUsd}`);

    // Table 1: both teachers' baselines, each student's best, Perf. Matching = 60 / 80
    const [t] = table1(await getStudyProgress(flow.env.client, 'study-grid'));
    assert.ok(t);
    assert.deepEqual(
      t.rows.filter((r) => r.kind === 'service').map((r) => r.model),
      ['openai/gpt-4o', 'openai/gpt-4o-mini'],
    );
    assert.deepEqual(
      t.rows.filter((r) => r.kind === 'local').map((r) => r.model),
      ['builtin:tiny-random-llama', 'builtin:small-random-llama'],
    );
    assert.deepEqual(t.judges, ['openai/gpt-4o', 'openai/gpt-4o-mini', 'all']);
    assert.equal(t.matching.all!.precision.mean, 75);

    // what the cells' artifacts add: per-sample scores per cycle and judge, token statistics of the data
    const data = await loadStudyData(flow.env.client, flow.store, result);
    assert.equal(data.cells.length, 4);
    for (const c of data.cells) {
      assert.ok(c.scores.length >= 2, `${c.key}: per-sample scores of both judges`);
      assert.ok(c.scores.every((s) => s.similarity.length > 0 && s.similarity.length === s.precision.length));
      assert.deepEqual(
        c.tokens.filter((t) => t.dataset !== 'synthetic').map((t) => t.dataset),
        ['coverage-train', 'coverage-test'],
      );
      assert.ok(c.tokens.every((t) => t.stats.records > 0 && t.stats.total.mean > 0));
    }
    const syntheticSets = data.cells.flatMap((c) => c.tokens).filter((t) => t.dataset === 'synthetic').length;

    // the HTML report in headless Chromium: the tables as built, the figures' charts drawn
    await mkdir(OUT, { recursive: true });
    const file = path.join(OUT, 'study-grid.html');
    await writeFile(file, renderStudyReport(result, new Date().toISOString(), data));
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const seen = await page.evaluate(() => {
        const doc = (
          globalThis as unknown as {
            document: {
              querySelectorAll(s: string): { length: number; [i: number]: { textContent: string } };
            };
          }
        ).document;
        const Chart = (
          globalThis as unknown as {
            Chart: {
              instances: Record<
                string,
                { canvas: { id: string }; data: { datasets: { data: unknown[] }[] } }
              >;
            };
          }
        ).Chart;
        // no named functions in here: tsx would wrap them in a __name() the page does not have
        return {
          service: doc.querySelectorAll('table.table1 tr[data-kind="service"]').length,
          local: doc.querySelectorAll('table.table1 tr[data-kind="local"]').length,
          matching: doc.querySelectorAll('table.table1 tr.matching')[0]?.textContent ?? '',
          all: Object.values(Chart.instances).map((c) => ({
            id: c.canvas.id,
            sets: c.data.datasets.map((d) => d.data.length),
          })),
          train: doc.querySelectorAll('table.table4 tr[data-dataset="coverage-train"]').length,
          test: doc.querySelectorAll('table.table4 tr[data-dataset="coverage-test"]').length,
          synthetic: doc.querySelectorAll('table.table4 tr[data-dataset="synthetic"]').length,
          table2: doc.querySelectorAll('table.table2 tr[data-service]').length,
        };
      });
      const charts = (prefix: string) => seen.all.filter((c) => c.id.startsWith(prefix)).map((c) => c.sets);
      assert.deepEqual(errors, []);
      assert.equal(seen.service, 2);
      assert.equal(seen.local, 2);
      assert.match(seen.matching, /75\.0% \/ (\d+\.\d%|–)/);
      // a chart per judge (two and their mean), data generator and metric (precision, similarity), a mean and
      // two coverage lines per student
      assert.equal(charts('fig2-').length, 12);
      assert.ok(charts('fig2-').every((sets) => sets.length === 6));
      // Figure 3: a density chart per judge (two), student (two) and data generator (two), each with a
      // density per cycle and points drawn
      assert.equal(charts('fig3-').length, 8);
      assert.ok(charts('fig3-').every((sets) => sets.length >= 1 && sets.every((points) => points > 0)));
      // Table 4: one coverage split shared by the four cells, every synthetic dataset of every cell
      assert.equal(seen.train, 1);
      assert.equal(seen.test, 1);
      assert.equal(seen.synthetic, syntheticSets);
      // Table 2 / Figure 4: the best local model against both service LLMs
      assert.equal(seen.table2, 2);
      assert.deepEqual(
        charts('fig4-').map((sets) => sets.length),
        [3],
      );
    } finally {
      await browser.close();
    }
  });

  it('cancelling a study cancels its running cell and starts no more', async () => {
    const input = parseStudyText(
      'cancel.yaml',
      studyYaml('cancel', `${flow.provider.url}/v1`, {
        students: ['builtin:tiny-random-llama'],
        epochs: 400,
      }),
    );
    const handle = await startStudy(flow.env.client, { ...input, maxConcurrent: 1 }, 'study-cancel');
    const first = await waitFor('a running cell', async () => {
      const p = await handle.query(studyProgressQuery);
      return p.cells.find((c) => c.status === 'running');
    });
    // wait until its migration reaches the trainer
    await waitFor('fine-tune', async () => {
      const d = await flow.env.client.workflow.getHandle(first.workflowId).describe();
      return d.status.name === 'RUNNING' ? true : undefined;
    });
    await handle.cancel();
    await assert.rejects(handle.result(), WorkflowFailedError);
    const child = flow.env.client.workflow.getHandle(first.workflowId);
    await assert.rejects(child.result(), WorkflowFailedError);
    assert.equal((await child.describe()).status.name, 'CANCELLED');
    const p = await handle.query(studyProgressQuery);
    assert.equal(p.status, 'cancelled');
    assert.equal(p.cells.filter((c) => c.status === 'pending').length, 1, 'the second cell never started');
  });
});

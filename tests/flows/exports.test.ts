// Config `export` through a whole migration with the real activities: after the last cycle the local GPU
// backend runs the CPU trainer's `export` command on the best cycle's adapter, once, and the merged model, the
// GGUF file and its Modelfile are artifacts the result names; the fine-tunes themselves export nothing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TASK_QUEUES } from '../../common/activities';
import type { ExportAdapterInput } from '../../common/types';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { startFlowEnv, type FlowEnv } from './harness';

describe('exports of the best adapter (real activities)', () => {
  let flow: FlowEnv;
  const asked: ExportAdapterInput[] = [];
  before(async () => {
    flow = await startFlowEnv({
      activities: (real) => ({
        ...real,
        exportAdapter: (input: ExportAdapterInput) => {
          asked.push(input);
          return real.exportAdapter!(input);
        },
      }),
    });
  });
  after(() => flow?.close());

  it('exports the best adapter once, as merged safetensors, GGUF and Modelfile artifacts', async () => {
    const config = flow.config('export-best', { maxCycles: 2, export: { merged: true, gguf: true } });
    const handle = await flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'export-best',
      args: [{ migrationId: 'export-best', config }],
    });
    const result = await handle.result();
    assert.equal(result.status, 'target-not-met');
    assert.equal(result.cycles.length, 2);
    assert.equal(asked.length, 1, 'one export step');
    assert.equal(asked[0]!.cycle, result.best!.cycle);
    assert.equal(asked[0]!.adapter.uri, result.best!.adapter.uri);

    const e = result.export!;
    assert.ok(e && !e.error, JSON.stringify(e));
    const merged = flow.store.path(e.merged!.uri);
    assert.ok(
      existsSync(path.join(merged, 'model.safetensors')) && existsSync(path.join(merged, 'config.json')),
    );
    const gguf = await open(flow.store.path(e.gguf!.uri));
    const magic = Buffer.alloc(4);
    await gguf.read(magic, 0, 4, 0);
    await gguf.close();
    assert.equal(magic.toString('latin1'), 'GGUF');
    const modelfile = await readFile(flow.store.path(e.modelfile!.uri), 'utf8');
    assert.ok(modelfile.startsWith(`FROM ./${path.basename(flow.store.path(e.gguf!.uri))}\n`), modelfile);
    const manifest = JSON.parse(await readFile(flow.store.path(e.manifest!.uri), 'utf8'));
    assert.equal(manifest.command, 'export');
    assert.equal(manifest.status, 'succeeded');

    // each cycle's fine-tune left only its adapter
    for (const c of result.cycles) {
      const out = path.dirname(flow.store.path(c.adapter.uri));
      assert.ok(!existsSync(path.join(out, 'merged')) && !existsSync(path.join(out, 'gguf')), out);
    }
    const report = await readFile(flow.store.path(result.report!.uri), 'utf8');
    assert.ok(report.includes(e.gguf!.uri), 'the report names the GGUF file');
  });
});

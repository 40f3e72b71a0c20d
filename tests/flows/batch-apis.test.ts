// The batch APIs through whole migrations. `synthesis.teacher.batch: true`: the teacher's synthesis requests
// go out as provider batches, the provider server bills them at its own batch price, the migration's spend
// equals the server's bill, and a worker SIGKILLed while a batch is queued at the provider resubmits nothing
// (the retried shard resumes its batch by id), nor does one SIGKILLed after the provider accepted a batch but
// before the worker heard its id (the retry finds the batch by its idempotency key). Judges with
// `batch: true`: every evaluation goes as batches. A migration cancelled while its batch is queued cancels
// the provider batch.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { billUsd, serverPriceOf, type StartedServer } from '../servers';
import {
  flowConfig,
  isSynthesis,
  provider,
  startFlowEnv,
  startMigration,
  startWorker,
  stopWorker,
  waitFor,
  type FlowEnv,
} from './llm-flow-harness';

function filesUnder(dir: string, suffix: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => f.endsWith(suffix))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

describe('batch APIs in a migration', () => {
  let flow: FlowEnv;
  let server: StartedServer;
  let worker: ChildProcess;
  let onBatchCreated: (batchId: string) => Promise<void> = async () => undefined;
  before(async () => {
    flow = await startFlowEnv();
    // A batch stays queued at the provider for 6 s: long enough to kill the worker while it waits.
    server = await provider({ batchDelayMs: 6000, onBatchCreated: (id) => onBatchCreated(id) });
    worker = await startWorker(flow);
  });
  after(async () => {
    await stopWorker(worker);
    await server.close();
    await flow.close();
  });

  it('batch: true migration billed at batch price by the provider server, its spend equal to the bill; a worker kill mid-batch resubmits nothing', async () => {
    const id = 'batch-migration';
    const base = flowConfig(id, `${server.url}/v1`);
    const config = {
      ...base,
      synthesis: { ...base.synthesis, teacher: { ...base.synthesis.teacher, batch: true } },
    };
    // the first batch the provider accepts: the worker dies before it hears the batch's id
    let killedAtSubmit = false;
    onBatchCreated = async () => {
      if (killedAtSubmit) return;
      killedAtSubmit = true;
      await stopWorker(worker, 'SIGKILL');
    };
    const handle = await startMigration(flow, id, config);
    await waitFor('the kill at submit', async () => (killedAtSubmit ? true : undefined));
    const acceptedUnheard = server.stats.batchesCreated;
    assert.ok(acceptedUnheard >= 1);
    worker = await startWorker(flow);

    const synthDir = path.join(flow.artifacts, id, 'cycle-1', 'synth');
    const submitted = () =>
      filesUnder(synthDir, '.batch.json').filter(
        (f) => (JSON.parse(readFileSync(f, 'utf8')) as { batchId?: string }).batchId,
      );
    await waitFor('a submitted batch', async () => (submitted().length ? true : undefined));
    const queued = server.stats.batchesCreated;
    assert.ok(queued >= 1);
    await stopWorker(worker, 'SIGKILL');
    worker = await startWorker(flow);

    const result = await handle.result();
    assert.equal(result.status, 'target-not-met', 'ran its 2 cycles');
    assert.ok(result.syntheses[0]!.accepted > 0, 'the batch synthesis fed cycle 1');

    // Nothing was submitted twice: one batch per shard, each request in exactly one batch.
    const metas = filesUnder(synthDir, '.meta.json').map(
      (f) => JSON.parse(readFileSync(f, 'utf8')) as { batchId?: string; usage: { calls: number } },
    );
    const batchIds = metas.map((m) => m.batchId);
    assert.ok(batchIds.every(Boolean), 'every shard went through a batch');
    assert.equal(new Set(batchIds).size, metas.length);
    assert.equal(
      server.stats.batchesCreated,
      metas.length,
      `${server.stats.batchesCreated} batches for ${metas.length} shards`,
    );
    const synthesis = server.stats.log.filter(isSynthesis);
    const prompts = synthesis.map((r) => JSON.stringify(r.messages));
    assert.equal(new Set(prompts).size, prompts.length, 'no synthesis request was asked (and billed) twice');
    assert.ok(
      synthesis.every((r) => r.batch),
      'every synthesis request went through the batch API',
    );
    assert.equal(synthesis.length, server.stats.batchItems);

    // Billed at the batch price, by the server's own count and price list.
    const price = serverPriceOf('openai', 'gpt-4o')!;
    const fullPrice = billUsd(
      price,
      { input: server.stats.batchInputTokens, output: server.stats.batchOutputTokens, cached: 0 },
      false,
    );
    assert.ok(server.stats.batchUsd > 0);
    assert.ok(Math.abs(server.stats.batchUsd - fullPrice * price.batch) < 1e-9);
    const synthesizeUsd = result.spend.byStage.synthesize!.usd;
    const calls = result.spend.total.calls;
    assert.ok(
      Math.abs(synthesizeUsd - server.stats.batchUsd) <= 1e-6 * synthesis.length,
      `synthesis spend ${synthesizeUsd} vs batch bill ${server.stats.batchUsd}`,
    );
    // The migration's whole spend is the server's whole bill (sync judge and teacher calls included).
    assert.ok(
      Math.abs(result.spend.total.usd - server.stats.billedUsd) <= 1e-6 * calls,
      `spend ${result.spend.total.usd} vs bill ${server.stats.billedUsd}`,
    );
    console.log(
      `batch: ${metas.length} shard batch(es), ${acceptedUnheard} accepted but unheard at the first kill, ${queued} queued at the second, ${server.stats.batchesCreated} created in all; ` +
        `synthesis ${synthesizeUsd.toFixed(6)} USD = server batch bill ${server.stats.batchUsd.toFixed(6)} USD ` +
        `(full price ${fullPrice.toFixed(6)}); spend ${result.spend.total.usd.toFixed(6)} = bill ${server.stats.billedUsd.toFixed(6)} USD`,
    );
  });

  it('judges with batch: true: every evaluation goes through the batch API at the batch price, its spend equal to the bill', async () => {
    const judging = await provider({ batchDelayMs: 300 });
    try {
      const id = 'batch-judges';
      const base = flowConfig(id, `${judging.url}/v1`);
      const config = {
        ...base,
        evaluation: {
          ...base.evaluation,
          judges: base.evaluation.judges.map((j) => ({ ...j, batch: true })),
        },
        maxCycles: 1,
      };
      const result = await (await startMigration(flow, id, config)).result();
      assert.equal(result.status, 'target-not-met');
      const judge = judging.stats.log.filter((r) => !isSynthesis(r) && r.schema !== undefined);
      assert.ok(judge.length > 0 && judge.every((r) => r.batch), 'every judge call went through a batch');
      // three evaluations (the teacher's answers, the base student's, cycle 0's), one batch each (one judge,
      // single grades only)
      assert.equal(judging.stats.batchesCreated, 3);
      const evaluateUsd = result.spend.byStage.evaluate!.usd;
      assert.ok(
        Math.abs(evaluateUsd - judging.stats.batchUsd) <= 1e-6 * judge.length,
        `evaluation spend ${evaluateUsd} vs batch bill ${judging.stats.batchUsd}`,
      );
      const syncBill = judging.stats.billedUsd - judging.stats.batchUsd;
      assert.ok(Math.abs(result.spend.byStage['teacher-baseline']!.usd - syncBill) <= 1e-5);
      assert.ok(
        Math.abs(result.spend.total.usd - judging.stats.billedUsd) <= 1e-6 * result.spend.total.calls,
      );
      console.log(
        `batch judges: ${judge.length} judge calls in ${judging.stats.batchesCreated} batches, evaluation ${evaluateUsd.toFixed(6)} USD = ` +
          `server batch bill ${judging.stats.batchUsd.toFixed(6)} USD; spend ${result.spend.total.usd.toFixed(6)} = bill ${judging.stats.billedUsd.toFixed(6)} USD`,
      );
    } finally {
      await judging.close();
    }
  });

  it('a migration cancelled while its synthesis batch is queued at the provider cancels the provider batch', async () => {
    const queued = await provider({ batchDelayMs: 600_000 });
    try {
      const id = 'batch-cancel';
      const base = flowConfig(id, `${queued.url}/v1`);
      const config = {
        ...base,
        // cycle 1 is the first to synthesize
        synthesis: { ...base.synthesis, teacher: { ...base.synthesis.teacher, batch: true } },
      };
      const handle = await startMigration(flow, id, config);
      await waitFor('a batch at the provider', async () => (queued.stats.batchesCreated ? true : undefined));
      await handle.cancel();
      await waitFor(
        'every provider batch cancelled',
        async () => (queued.stats.batchesCancelled === queued.stats.batchesCreated ? true : undefined),
        60_000,
      );
      await assert.rejects(handle.result());
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      assert.equal(queued.stats.batchItems, 0, 'no batch item ran (nor was billed)');
      console.log(
        `batch cancel: ${queued.stats.batchesCancelled} of ${queued.stats.batchesCreated} batches cancelled`,
      );
    } finally {
      await queued.close();
    }
  });
});

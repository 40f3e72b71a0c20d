// Money limits before any GPU work, with the real activities on a dev server: an account with no quota left
// (the provider answers 429 insufficient_quota) ends the migration as failed within a minute with a message
// that says so, not as a "rate limit" retried forever; a budget that cannot pay for the teacher baseline's
// worst case ends it as budget-exhausted before the teacher is asked anything.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { SA_STATUS } from '../../workflows/search-attributes';
import {
  flowConfig,
  provider,
  startFlowEnv,
  startMigration,
  startWorker,
  stopWorker,
  type FlowEnv,
} from './llm-flow-harness';
import type { ChildProcess } from 'node:child_process';

describe('money limits before any GPU work', () => {
  let flow: FlowEnv;
  let worker: ChildProcess;
  before(async () => {
    flow = await startFlowEnv();
    worker = await startWorker(flow);
  });
  after(async () => {
    await stopWorker(worker);
    await flow.close();
  });

  it('exhausted quota ends the migration as failed within a minute with a clear message', async () => {
    const server = await provider({ quotaExhausted: true });
    after(() => server.close());
    const started = Date.now();
    const handle = await startMigration(flow, 'quota-exhausted', flowConfig('quota', `${server.url}/v1`));
    const err = await handle.result().then(
      () => assert.fail('the migration should fail'),
      (e: unknown) => e,
    );
    const seconds = (Date.now() - started) / 1000;
    assert.ok(err instanceof WorkflowFailedError, String(err));
    // the whole cause chain, as `temporal workflow show` and the UI print it
    const chain: string[] = [];
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) chain.push((e as Error).message);
    const text = chain.join(' <- ');
    assert.match(text, /quota exhausted/, text);
    assert.match(text, /insufficient_quota|exceeded your current quota/, text);
    assert.ok(seconds < 60, `failed after ${seconds.toFixed(1)} s`);
    assert.ok(server.stats.quotaRefused >= 1);
    assert.ok(server.stats.quotaRefused <= 8, `asked ${server.stats.quotaRefused} times, not retried`);
    assert.equal(server.stats.billedUsd, 0);
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'FAILED');
    console.log(
      `quota: failed after ${seconds.toFixed(1)} s, ${server.stats.quotaRefused} request(s) refused; status attribute ${String(desc.typedSearchAttributes.get(SA_STATUS))}`,
    );
  });

  it('a budget that cannot pay for the teacher baseline stops the migration before the teacher is asked', async () => {
    const server = await provider({});
    after(() => server.close());
    const base = flowConfig('baseline-budget', `${server.url}/v1`);
    const handle = await startMigration(flow, 'baseline-budget', { ...base, budget: { maxUsd: 0.01 } });
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
    assert.match(result.decisions.at(-1)!.reason, /teacher baseline .* more than the 0\.0100 USD left/);
    assert.equal(server.stats.requests, 0, 'nothing was asked');
    assert.equal(result.spend.total.usd, 0);
    console.log(`baseline budget: ${result.decisions.at(-1)!.reason}`);
  });
});

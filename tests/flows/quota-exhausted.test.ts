// An account with no quota left: the provider answers 429 insufficient_quota. The migration must end as
// failed, within a minute, with a message that says so — not retry a "rate limit" forever.
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
import type { StartedServer } from '../servers';
import type { ChildProcess } from 'node:child_process';

describe('money limits: exhausted quota', () => {
  let flow: FlowEnv;
  let server: StartedServer;
  let worker: ChildProcess;
  before(async () => {
    flow = await startFlowEnv();
    server = await provider({ quotaExhausted: true });
    worker = await startWorker(flow);
  });
  after(async () => {
    await stopWorker(worker);
    await server.close();
    await flow.close();
  });

  it('exhausted quota ends the migration as failed within a minute with a clear message', async () => {
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
});

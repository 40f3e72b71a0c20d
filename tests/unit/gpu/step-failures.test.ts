// The GPU step's own failures are counted across attempts in its artifact directory; worker crashes and
// evictions are not, so they never use up the step's retries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toApplicationFailure } from '../../../activities/gpu/failures';
import { countStepFailure, MAX_STEP_FAILURES } from '../../../activities/gpu/step-failures';
import { tempStore } from './helpers';

const crash = () => toApplicationFailure({ kind: 'crashed', message: 'exit 1', logTail: ['boom'] }, 'job-a');

describe('GPU step failure count', () => {
  it('retries a crashing trainer until it has crashed MAX_STEP_FAILURES times', async () => {
    const store = await tempStore();
    for (let i = 1; i < MAX_STEP_FAILURES; i++) {
      const err = (await countStepFailure(store, 'm/cycle-0/fine-tune', crash())) as ApplicationFailure;
      assert.equal(err.nonRetryable, false, `failure ${i} is retried`);
    }
    const last = (await countStepFailure(store, 'm/cycle-0/fine-tune', crash())) as ApplicationFailure;
    assert.equal(last.nonRetryable, true);
    assert.equal(last.type, 'GpuTrainerCrashed');
    assert.match(last.message, /job-a: exit 1[\s\S]*failed 4 times; not retried again/);
    assert.deepEqual(last.details, [{ job: 'job-a', kind: 'crashed', logTail: ['boom'] }]);
    // another step's count is its own
    const other = (await countStepFailure(store, 'm/cycle-0/generate', crash())) as ApplicationFailure;
    assert.equal(other.nonRetryable, false);
  });

  it('does not count evictions, preemptions, lost workers or failures that are final anyway', async () => {
    const store = await tempStore();
    const errs = [
      toApplicationFailure({ kind: 'evicted', message: 'evicted', logTail: [] }, 'job-b'),
      toApplicationFailure({ kind: 'preempted', message: 'SIGTERM', logTail: [] }, 'job-b'),
      ApplicationFailure.retryable('worker lost', 'GpuWaitStopped'),
      toApplicationFailure({ kind: 'crashed', message: 'vanished', logTail: [], lost: true }, 'job-b'),
      toApplicationFailure({ kind: 'oomKilled', message: 'OOMKilled', logTail: [] }, 'job-b'),
      new Error('ECONNRESET'),
    ];
    for (let round = 0; round < MAX_STEP_FAILURES + 1; round++)
      for (const e of errs) assert.equal(await countStepFailure(store, 'm/cycle-1/fine-tune', e), e);
    assert.equal(await store.find('m/cycle-1/fine-tune/failures.json'), null);
  });
});

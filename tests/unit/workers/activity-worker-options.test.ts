import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msToNumber } from '@temporalio/common/lib/time';
import { TASK_QUEUES } from '../../../common/activities';
import { activityWorkerOptions } from '../../../workers/create-workers';

test('activity workers send heartbeats often enough that a cancel reaches a GPU or LLM activity in seconds', () => {
  // The SDK's own throttle with the workflow's default 60 s heartbeat timeout would be 48 s.
  for (const queue of ['gpu', 'llm', 'data'] as const) {
    const o = activityWorkerOptions(queue);
    assert.equal(o.taskQueue, TASK_QUEUES[queue]);
    assert.ok(o.maxHeartbeatThrottleInterval !== undefined, `${queue}: throttle set`);
    assert.ok(msToNumber(o.maxHeartbeatThrottleInterval) <= 5_000, `${queue}: throttle at most 5 s`);
  }
});

test('activity concurrency: 8 LLM, 4 others by default; a given value wins', () => {
  assert.equal(activityWorkerOptions('llm').maxConcurrentActivityTaskExecutions, 8);
  assert.equal(activityWorkerOptions('gpu').maxConcurrentActivityTaskExecutions, 4);
  assert.equal(activityWorkerOptions('gpu', 1).maxConcurrentActivityTaskExecutions, 1);
});

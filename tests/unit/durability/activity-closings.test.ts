import assert from 'node:assert/strict';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import { closingsInHistory } from '../../durability/kill-audit';

// Events as fetchHistory returns them (protobuf objects, 64-bit ids as Long)
const { HistoryEvent } = proto.temporal.api.history.v1;
const scheduled = (eventId: number, activityId: string) =>
  HistoryEvent.fromObject({
    eventId,
    eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
    activityTaskScheduledEventAttributes: { activityId },
  });
const started = (scheduledEventId: number, attempt: number) =>
  HistoryEvent.fromObject({
    eventType: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
    activityTaskStartedEventAttributes: { scheduledEventId, attempt },
  });
const timedOut = (scheduledEventId: number) =>
  HistoryEvent.fromObject({
    eventType: 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT',
    activityTaskTimedOutEventAttributes: { scheduledEventId },
  });

test('each activity closes with the attempt its Started event names; a timeout marks it', () => {
  const closings = closingsInHistory([
    scheduled(5, '1'),
    scheduled(6, '2'),
    scheduled(7, '3'),
    started(6, 3),
    started(5, 1),
    started(7, 10),
    timedOut(7),
  ]);
  assert.deepEqual(Object.fromEntries(closings), {
    '1': { attempt: 1, timedOut: false },
    '2': { attempt: 3, timedOut: false },
    '3': { attempt: 10, timedOut: true },
  });
});

test('an activity that timed out before any attempt started, or is still open, has no closing', () => {
  const closings = closingsInHistory([scheduled(5, '1'), timedOut(5), scheduled(8, '2')]);
  assert.equal(closings.size, 0);
});

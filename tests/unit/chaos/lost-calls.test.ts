import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptTagOf, lostCalls, type AnsweredCall, type AttemptTag } from '../../chaos/lost-calls';

const tag = (activityId: string, attempt: number, runId = 'r1'): AttemptTag => ({
  workflowId: 'w',
  runId,
  activityId,
  attempt,
});
const call = (q: string, attempt?: AttemptTag): AnsweredCall => ({
  system: 'judge',
  messages: [{ role: 'user', content: q }],
  schema: { type: 'object' },
  attempt,
});
// activity '1' closed on its 2nd attempt, '2' on its 1st; nothing else closed
const closing = (t: AttemptTag) =>
  t.runId !== 'r1' ? undefined : ({ '1': 2, '2': 1 } as Record<string, number>)[t.activityId];

test('calls of the attempts that closed their activities are all accounted for', () => {
  const answered = [call('a', tag('1', 2)), call('b', tag('1', 2)), call('a', tag('2', 1))];
  assert.deepEqual(lostCalls(answered, closing), { deadAttempts: 0, askedAgain: 0, untagged: 0 });
});

test("a dead attempt's calls count, whatever they asked, even when the next attempt asks the same", () => {
  const answered = [call('a', tag('1', 1)), call('fix a', tag('1', 1)), call('a', tag('1', 2))];
  assert.deepEqual(lostCalls(answered, closing), { deadAttempts: 2, askedAgain: 0, untagged: 0 });
});

test('a request the closing attempt asked again counts its earlier copies', () => {
  const answered = [
    call('a', tag('2', 1)),
    call('a', tag('2', 1)),
    call('a', tag('2', 1)),
    call('b', tag('2', 1)),
  ];
  assert.deepEqual(lostCalls(answered, closing), { deadAttempts: 0, askedAgain: 2, untagged: 0 });
});

test('an activity whose history shows no closing attempt, or another run, counts as dead', () => {
  const answered = [call('a', tag('3', 1)), call('a', tag('2', 1, 'r2'))];
  assert.deepEqual(lostCalls(answered, closing), { deadAttempts: 2, askedAgain: 0, untagged: 0 });
});

test('calls without an attempt are counted apart', () => {
  const answered = [call('a'), call('a', tag('2', 1))];
  assert.deepEqual(lostCalls(answered, closing), { deadAttempts: 0, askedAgain: 0, untagged: 1 });
});

test('the header parses into an attempt, and anything else into none', () => {
  assert.deepEqual(attemptTagOf(JSON.stringify(tag('1', 2))), tag('1', 2));
  assert.equal(attemptTagOf(undefined), undefined);
  assert.equal(attemptTagOf(['a', 'b']), undefined);
  assert.equal(attemptTagOf('not json'), undefined);
  assert.equal(attemptTagOf(JSON.stringify({ ...tag('1', 2), attempt: '2' })), undefined);
});

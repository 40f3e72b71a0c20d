import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  attemptHeader,
  attemptTagOf,
  lostCalls,
  type AnsweredCall,
  type AttemptTag,
} from '../../chaos/lost-calls';

const tag = (activityId: string, attempt: number, runId = 'r1'): AttemptTag => ({
  workflowId: 'w',
  runId,
  activityId,
  attempt,
});
const call = (attempt?: AttemptTag, delivered = true, request = 'q'): AnsweredCall => ({
  request,
  attempt,
  delivered,
});
const nothingLost = { deadAttempts: 0, undelivered: 0, askedAgain: 0, untagged: 0 };
// activity '1' closed on its 2nd attempt, '2' on its 1st; nothing else closed with a result or a failure
const closing = (t: AttemptTag) =>
  t.runId !== 'r1' ? undefined : ({ '1': 2, '2': 1 } as Record<string, number>)[t.activityId];

test('delivered replies to the attempts that closed their activities are not lost', () => {
  const answered = [call(tag('1', 2), true, 'a'), call(tag('1', 2), true, 'b'), call(tag('2', 1), true, 'a')];
  assert.deepEqual(lostCalls(answered, closing), nothingLost);
});

test("a dead attempt's calls count whether or not their replies arrived", () => {
  const answered = [call(tag('1', 1)), call(tag('1', 1), false), call(tag('1', 2))];
  assert.deepEqual(lostCalls(answered, closing), { ...nothingLost, deadAttempts: 2 });
});

test('a reply never handed over for the closing attempt is lost, whether or not it was asked again', () => {
  const answered = [call(tag('2', 1), false), call(tag('2', 1)), call(tag('2', 1), false, 'b')];
  assert.deepEqual(lostCalls(answered, closing), { ...nothingLost, undelivered: 2 });
});

test('a reply handed over that the closing attempt asked for again may be lost; its last copy is not', () => {
  const answered = [call(tag('2', 1)), call(tag('2', 1)), call(tag('2', 1)), call(tag('2', 1), true, 'b')];
  assert.deepEqual(lostCalls(answered, closing), { ...nothingLost, askedAgain: 2 });
});

test('an activity with no closing attempt (timed out, never closed), or another run, counts as dead', () => {
  const answered = [call(tag('3', 1)), call(tag('2', 1, 'r2'))];
  assert.deepEqual(lostCalls(answered, closing), { ...nothingLost, deadAttempts: 2 });
});

test('calls without an attempt are counted apart', () => {
  const answered = [call(), call(undefined, false), call(tag('2', 1))];
  assert.deepEqual(lostCalls(answered, closing), { ...nothingLost, untagged: 2 });
});

test('the header carries any workflow id and parses back; anything else parses into none', () => {
  const odd = { ...tag('1', 2), workflowId: 'migration “ü” 1' };
  assert.match(attemptHeader(odd), /^[\x21-\x7e]+$/);
  assert.deepEqual(attemptTagOf(attemptHeader(odd)), odd);
  assert.equal(attemptTagOf(undefined), undefined);
  assert.equal(attemptTagOf(['a', 'b']), undefined);
  assert.equal(attemptTagOf('%E0%A4%A'), undefined);
  assert.equal(
    attemptTagOf(attemptHeader({ ...tag('1', 2), attempt: '2' } as unknown as AttemptTag)),
    undefined,
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { supersededCalls, type AnsweredRequest } from '../../chaos/superseded-calls';

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });
const opening = (q: string): AnsweredRequest => ({
  system: 'judge',
  messages: [user(q)],
  schema: { type: 'object' },
});
const correction = (q: string, bad: string): AnsweredRequest => ({
  system: 'judge',
  messages: [user(q), assistant(bad), user('Your reply could not be used')],
  schema: { type: 'object' },
});

test('distinct conversations and completed correction chains supersede nothing', () => {
  assert.equal(supersededCalls([opening('a'), opening('b'), correction('b', '{'), opening('c')]), 0);
});

test('an opening asked again supersedes its earlier copy', () => {
  assert.equal(supersededCalls([opening('a'), opening('b'), opening('a')]), 1);
});

test('a re-asked opening supersedes the whole chain a dead attempt paid for', () => {
  // malformed reply, its correction, then the attempt died; the next attempt asks the opening again
  assert.equal(supersededCalls([opening('a'), correction('a', '{'), opening('a')]), 2);
});

test('a correction turn asked again supersedes its earlier copy', () => {
  assert.equal(supersededCalls([opening('a'), correction('a', '{'), correction('a', '{')]), 1);
});

test('the same question under another system prompt or schema is another conversation', () => {
  const other: AnsweredRequest = { system: 'teacher', messages: [user('a')] };
  assert.equal(supersededCalls([opening('a'), other, { ...opening('a'), schema: undefined }]), 0);
});

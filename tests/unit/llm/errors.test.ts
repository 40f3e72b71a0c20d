import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { classify, LlmError, retryAfterMs, toActivityFailure } from '../../../activities/llm/errors';

const ctx = { secrets: ['sk-secret-123'], timedOut: false, provider: 'openai', model: 'gpt-4o' };

describe('error classification', () => {
  it('reads the wait a provider asks for from each header form', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250' }), ''), 250);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '3' }), ''), 3000);
    assert.equal(retryAfterMs(new Headers({ 'x-ratelimit-reset-requests': '1m6s' }), ''), 66_000);
    assert.equal(retryAfterMs(undefined, '{"@type":"...RetryInfo","retryDelay":"2.5s"}'), 2500);
    assert.equal(retryAfterMs(new Headers(), 'nothing'), undefined);
  });

  it('classifies by status and scrubs secrets', () => {
    const e429 = classify(
      { status: 429, headers: new Headers({ 'retry-after': '1' }), message: 'slow down' },
      ctx,
    );
    assert.deepEqual([e429.reason, e429.retryable, e429.retryAfterMs], ['rate-limited', true, 1000]);
    assert.equal(classify({ status: 503, message: 'x' }, ctx).reason, 'server-error');
    assert.equal(classify({ status: 504, message: 'x' }, ctx).reason, 'timeout');
    assert.equal(classify(new Error('boom'), { ...ctx, timedOut: true }).reason, 'timeout');
    assert.equal(classify(new TypeError('fetch failed'), ctx).retryable, true);
    const bad = classify({ status: 400, message: 'key sk-secret-123 is wrong' }, ctx);
    assert.equal(bad.retryable, false);
    assert.doesNotMatch(bad.message, /sk-secret-123/);
    assert.match(bad.message, /\[redacted\]/);
  });

  it('tells an exhausted account (non-retryable) from a rate limit', () => {
    const openai = classify(
      {
        status: 429,
        code: 'insufficient_quota',
        message: '429 You exceeded your current quota, please check your plan and billing details.',
      },
      ctx,
    );
    assert.deepEqual([openai.reason, openai.retryable], ['quota', false]);
    assert.match(openai.message, /quota exhausted/);
    const anthropic = classify(
      { status: 400, message: 'Your credit balance is too low to access the Anthropic API.' },
      ctx,
    );
    assert.deepEqual([anthropic.reason, anthropic.retryable], ['quota', false]);
    const gemini = classify(
      { status: 429, message: 'Quota exceeded for metric: generate_content_free_tier_requests, limit: 0' },
      ctx,
    );
    assert.equal(gemini.reason, 'quota');
    // an ordinary per-minute 429 stays a (retryable) rate limit
    const busy = classify({ status: 429, code: 'rate_limit_exceeded', message: 'Rate limit reached' }, ctx);
    assert.deepEqual([busy.reason, busy.retryable], ['rate-limited', true]);
    // Gemini's per-minute limit also tells the user to check plan and billing, with a real limit and a wait
    const geminiBusy = classify(
      {
        status: 429,
        message:
          'You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: ' +
          'generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.0-flash ' +
          '[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]',
      },
      { ...ctx, provider: 'google', model: 'gemini-2.0-flash' },
    );
    assert.deepEqual(
      [geminiBusy.reason, geminiBusy.retryable, geminiBusy.retryAfterMs],
      ['rate-limited', true, 26_000],
    );
    const f = toActivityFailure(openai) as ApplicationFailure;
    assert.deepEqual([f.type, f.nonRetryable], ['LlmError:quota', true]);
  });

  it('becomes a typed Temporal failure, non-retryable when retrying cannot help', () => {
    const f = toActivityFailure(new LlmError('budget', 'over budget', false));
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'LlmError:budget');
    assert.equal(f.nonRetryable, true);
    const g = toActivityFailure(new LlmError('server-error', '503', true)) as ApplicationFailure;
    assert.equal(g.nonRetryable, false);
    const other = new Error('x');
    assert.equal(toActivityFailure(other), other);
  });
});

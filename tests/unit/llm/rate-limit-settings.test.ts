// Deployment rate limits: parsing LLAMADUO_RATE_LIMITS and the order of precedence.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PROVIDER_LIMITS } from '../../../activities/llm/limiter';
import { parseRateLimits, resolveLimits } from '../../../activities/llm/rate-limit-settings';
import type { ServiceModel } from '../../../common/config';
import { readWorkerEnv } from '../../../workers/worker-config';

const gpt4o: ServiceModel = { provider: 'openai', model: 'gpt-4o', batch: false };

describe('rate limit settings', () => {
  it('reads inline JSON and a YAML file', () => {
    assert.deepEqual(parseRateLimits('{"openai/gpt-4o": {"rpm": 5000, "tpm": 800000}}'), {
      'openai/gpt-4o': { rpm: 5000, tpm: 800000 },
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'limits-'));
    try {
      const file = path.join(dir, 'limits.yaml');
      writeFileSync(file, 'openai/gpt-4o:\n  rpm: 5000\nanthropic/claude-sonnet-4-5:\n  maxConcurrency: 8\n');
      assert.deepEqual(parseRateLimits(file), {
        'openai/gpt-4o': { rpm: 5000 },
        'anthropic/claude-sonnet-4-5': { maxConcurrency: 8 },
      });
      writeFileSync(file, 'openai/gpt-4o:\n  rpm: 5000\n  tpm: -3\n');
      assert.throws(() => parseRateLimits(file), {
        message: `${file}:3: openai/gpt-4o.tpm: Too small: expected number to be >0`,
      });
      writeFileSync(file, 'openai/gpt-4o:\n  rmp: 5000\n');
      assert.throws(() => parseRateLimits(file), /limits\.yaml:2: openai\/gpt-4o: Unrecognized key: "rmp"/);
      assert.throws(() => parseRateLimits(path.join(dir, 'missing.yaml')), /cannot read .*missing\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(parseRateLimits(undefined), {});
  });

  it('deployment settings win over provider defaults; a migration config may only lower them', () => {
    const settings = { 'openai/gpt-4o': { rpm: 5000, maxConcurrency: 64 } };
    const plain = resolveLimits(gpt4o, settings);
    assert.equal(plain.rpm, 5000);
    assert.equal(plain.maxConcurrency, 64);
    assert.equal(plain.tpm, PROVIDER_LIMITS.openai.tpm, 'unset in the deployment: provider default');
    const higher = resolveLimits({ ...gpt4o, rpm: 90_000, concurrency: 200 }, settings);
    assert.equal(higher.rpm, 5000);
    assert.equal(higher.maxConcurrency, 64);
    const lower = resolveLimits({ ...gpt4o, rpm: 100, concurrency: 4 }, settings);
    assert.equal(lower.rpm, 100);
    assert.equal(lower.maxConcurrency, 4);
    // no deployment setting for the model: the config corrects the provider's conservative guess
    assert.equal(resolveLimits({ ...gpt4o, rpm: 1200 }, {}).rpm, 1200);
    assert.equal(resolveLimits(gpt4o, {}).rpm, PROVIDER_LIMITS.openai.rpm);
  });

  it('a deployment may shape the pacing (headroom, burstSeconds, windowSeconds) per model; out-of-range values are refused', () => {
    const settings = parseRateLimits(
      '{"openai/gpt-4o": {"rpm": 600, "headroom": 0.96, "burstSeconds": 0.25, "windowSeconds": 5}}',
    );
    const l = resolveLimits(gpt4o, settings);
    assert.equal(l.headroom, 0.96);
    assert.equal(l.burstSeconds, 0.25);
    assert.equal(l.windowSeconds, 5);
    assert.throws(() => parseRateLimits('{"openai/gpt-4o": {"windowSeconds": 0}}'), /windowSeconds/);
    assert.equal(resolveLimits(gpt4o, {}).headroom, PROVIDER_LIMITS.openai.headroom);
    assert.throws(() => parseRateLimits('{"openai/gpt-4o": {"headroom": 1.5}}'), /headroom/);
  });

  it('the worker environment accepts redis:// and rediss:// URLs only', () => {
    assert.equal(
      readWorkerEnv({ LLAMADUO_REDIS_URL: 'redis://r:6379/0' }).LLAMADUO_REDIS_URL,
      'redis://r:6379/0',
    );
    assert.ok(readWorkerEnv({ LLAMADUO_REDIS_URL: 'rediss://u:p@r:6380' }).LLAMADUO_REDIS_URL);
    assert.equal(readWorkerEnv({}).LLAMADUO_REDIS_URL, undefined);
    assert.throws(() => readWorkerEnv({ LLAMADUO_REDIS_URL: 'http://r' }), /LLAMADUO_REDIS_URL: Invalid URL/);
  });
});

// Rate limits shared by worker replicas through a real redis-server: replicas are child processes with
// their own Redis connections, all calling one local OpenAI-protocol server through the real SDK; the
// server records when each request arrived, and the assertions count what it received per window.
//
// Window bounds (activities/llm/pacing.ts): the slots Redis hands out never put more than a window's share
// of the limit in any window; that is asserted exactly on the slots (Redis clock). Requests leave a
// replica a little after their slot (event loop, HTTP), and such delays can bunch arrivals, so what the
// server saw gets the slack of a few requests; a per-process limiter would send N times the rate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLlmClient } from '../../../activities/llm/factory';
import { LimiterRegistry } from '../../../activities/llm/limiter';
import { limitersFromEnv, PER_PROCESS_WARNING } from '../../../activities/llm/limiters-from-env';
import { SharedLimiterRegistry, SharedLimiterUnavailableError } from '../../../activities/llm/shared-limiter';
import type { ServiceModel } from '../../../common/config';
import { freePort, startRedis, type TestRedis } from '../../helpers/redis-server';
import { countTokens, startOpenAiServer, type ServedRequest } from '../../servers/index';
import { holdLease, maxInWindow, runReplica } from './replicas';
import type { ReplicaJob } from './replica';

const KEY = 'test-key-shared-limits';
let redis: TestRedis;
let run = 0;
// a made-up model name per test (its own buckets in the shared Redis) needs a price
const price = { inputPerMTok: 1, outputPerMTok: 1 };

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** A server recording each request's arrival time, prompt+allowance tokens and the peak in flight. */
async function recordingServer(holdMs = 0) {
  const arrivals: [number, number][] = [];
  let inFlight = 0;
  let peak = 0;
  const srv = await startOpenAiServer({
    apiKey: KEY,
    respond: async (req: ServedRequest) => {
      const tokens = req.messages.reduce((n, m) => n + countTokens(m.content), 0) + (req.maxTokens ?? 0);
      arrivals.push([performance.now(), tokens]);
      inFlight++;
      peak = Math.max(peak, inFlight);
      if (holdMs) await new Promise((r) => setTimeout(r, holdMs));
      inFlight--;
      return 'ok';
    },
  });
  return { srv, arrivals, peak: () => peak };
}

function job(url: string, extra: Partial<ReplicaJob>): ReplicaJob {
  // A fresh model name per test: its own buckets in the shared Redis.
  const model: ServiceModel = {
    provider: 'openai',
    model: `m-${++run}`,
    price,
    baseURL: `${url}/v1`,
    batch: false,
  };
  return {
    mode: 'send',
    redisUrl: redis.url,
    model,
    settings: {},
    requests: 10,
    prompts: ['hello'],
    maxOutputTokens: 20,
    apiKey: KEY,
    ...extra,
  };
}

describe('shared rate limiter (real redis-server, replicas as processes)', () => {
  it('two replicas stay within one RPM together: no window past its share, slots at the paced rate', async (t) => {
    const { srv, arrivals } = await recordingServer();
    try {
      // 1,200 RPM with a 2.5 s window: a share of 50; paced at 0.96 (19.2/s), bucket of 1. 2 x 40 requests.
      const base = job(srv.url, { requests: 40 });
      const j = {
        ...base,
        settings: { [`openai/${base.model.model}`]: { rpm: 1200, tpm: 10_000_000, windowSeconds: 2.5 } },
      };
      const results = await Promise.all([runReplica(j), runReplica(j)]);
      assert.deepEqual(
        results.map((r) => r.ok),
        [40, 40],
      );
      assert.equal(srv.stats.got429, 0);
      assert.equal(arrivals.length, 80);
      // the schedule Redis handed out (its clock): 19.2 * 0.999 * 2.5 = 47.95 intervals, so 48 at most; a
      // window's share is 50
      const slots = results.flatMap((r) => r.sendAt).sort((x, y) => x - y);
      const peakSlots = maxInWindow(
        slots.map((s) => [s, 1]),
        2500,
      );
      assert.ok(peakSlots <= 48, `at most 48 slots in any 2.5 s window, got ${peakSlots}`);
      // slots follow each other at the paced rate (1,151 RPM: 52.1 ms), whatever gap a late replica left
      const gaps = slots.slice(1).map((s, i) => s - slots[i]!);
      const median = gaps.sort((x, y) => x - y)[Math.floor(gaps.length / 2)]!;
      assert.ok(median <= 60_000 / (0.95 * 1200), `median gap between slots ${median} ms`);
      // what the server saw: requests leave a replica a little after their slot (event loop, HTTP), so the
      // arrivals get 3 requests of slack over the share; unshared, two replicas would send ~96
      const peak = maxInWindow(
        arrivals.map(([a]) => [a, 1]),
        2500,
      );
      t.diagnostic(`max in 2.5 s: ${peakSlots} slots, ${peak} arrivals; median gap ${median} ms`);
      assert.ok(peak <= 53, `at most 53 arrivals in any 2.5 s window, got ${peak}`);
    } finally {
      await srv.close();
    }
  });

  it('two replicas stay within one TPM together (prompt + output allowance, as the server counts)', async (t) => {
    const { srv, arrivals } = await recordingServer();
    try {
      // 72k TPM with a 2 s window: a share of 2,400 tokens. 800-char prompt = 200 + 100 allowance = 300 a
      // call, more than the bucket (48 tokens): calls are paced one per 300 / 1,152 s = 260 ms.
      const base = job(srv.url, {
        requests: 10,
        prompts: ['x'.repeat(800)],
        maxOutputTokens: 100,
        limits: { burstSeconds: 1 },
      });
      const j = {
        ...base,
        settings: { [`openai/${base.model.model}`]: { rpm: 60_000, tpm: 72_000, windowSeconds: 2 } },
      };
      const results = await Promise.all([runReplica(j), runReplica(j)]);
      assert.deepEqual(
        results.map((r) => r.ok),
        [10, 10],
      );
      assert.equal(
        arrivals.reduce((n, [, tk]) => n + tk, 0),
        6000,
      );
      const slots = results.flatMap((r) => r.sendAt);
      const peakSlots = maxInWindow(
        slots.map((s) => [s, 300]),
        2000,
      );
      assert.ok(peakSlots <= 2400, `at most 2,400 tokens scheduled in any 2 s window, got ${peakSlots}`);
      // arrivals: 2 calls of slack for requests that leave late; unshared, 20 calls (6,000) in ~2.6 s
      const peak = maxInWindow(arrivals, 2000);
      t.diagnostic(`max in 2 s: ${peakSlots} tokens scheduled, ${peak} arrived`);
      assert.ok(peak <= 3000, `at most 3,000 tokens in any 2 s window, got ${peak}`);
    } finally {
      await srv.close();
    }
  });

  it('two replicas share one concurrency limit', async (t) => {
    const { srv, peak } = await recordingServer(150);
    try {
      const base = job(srv.url, { requests: 10 });
      const j = {
        ...base,
        settings: { [`openai/${base.model.model}`]: { rpm: 60_000, tpm: 10_000_000, maxConcurrency: 3 } },
      };
      const results = await Promise.all([runReplica(j), runReplica(j)]);
      assert.deepEqual(
        results.map((r) => r.ok),
        [10, 10],
      );
      // a lease is taken before the request leaves and returned after the reply: no slack needed
      t.diagnostic(`peak in flight at the server: ${peak()}`);
      assert.ok(peak() <= 3, `at most 3 in flight at the server, saw ${peak()}`);
      assert.ok(peak() >= 2, `the limit was reached across replicas (peak ${peak()})`);
    } finally {
      await srv.close();
    }
  });

  it("a 429 seen by one replica holds back the other and lowers everyone's pace", async () => {
    const arrivals: number[] = [];
    const srv = await startOpenAiServer({
      apiKey: KEY,
      faultSequence: ['429'], // the first request: 429 with retry-after 1 s
      respond: () => {
        arrivals.push(performance.now());
        return 'ok';
      },
    });
    const a = new SharedLimiterRegistry(redis.url);
    const b = new SharedLimiterRegistry(redis.url);
    try {
      const model: ServiceModel = {
        provider: 'openai',
        model: `m-${++run}`,
        price,
        baseURL: `${srv.url}/v1`,
        batch: false,
      };
      const client = (limiters: SharedLimiterRegistry) =>
        createLlmClient({ model, env: { OPENAI_API_KEY: KEY }, limiters, tuning: { backoffMs: 10 } });
      const first = client(a).generate({ model, prompt: 'a', maxOutputTokens: 5 });
      let state = await b.for(model).state();
      for (let i = 0; i < 200 && state.pausedMs === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        state = await b.for(model).state();
      }
      assert.ok(state.pausedMs > 0, 'replica B sees the pause replica A recorded');
      assert.equal(state.pace, 0.85);
      const t0 = performance.now();
      const pausedMs = state.pausedMs;
      await client(b).generate({ model, prompt: 'b', maxOutputTokens: 5 });
      await first;
      const bArrival = arrivals.find((t) => t >= t0)!;
      // B asked while the pause had pausedMs left (Redis clock); 50 ms for the poll's rounding
      assert.ok(
        bArrival - t0 >= pausedMs - 50,
        `B waited ${Math.round(bArrival - t0)} ms of a ${pausedMs} ms pause`,
      );
      assert.equal(srv.stats.got429, 1);
      assert.equal(srv.stats.ok, 2);
    } finally {
      await a.close();
      await b.close();
      await srv.close();
    }
  });

  it("a killed replica's concurrency lease expires and its slot comes back", async (t) => {
    const model: ServiceModel = { provider: 'openai', model: `m-${++run}`, price, batch: false };
    const settings = { [`openai/${model.model}`]: { maxConcurrency: 1 } };
    const holder = await holdLease({ ...job('http://unused', {}), model, settings, leaseMs: 1000 });
    const limiters = new SharedLimiterRegistry(redis.url, settings, { leaseMs: 1000 });
    try {
      const limiter = limiters.for(model);
      assert.equal((await limiter.state()).leases, 1);
      // the holder renews its 1 s lease: 1.5 s later the slot is still taken
      await assert.rejects(limiter.acquire(1, AbortSignal.timeout(1500)), { name: 'TimeoutError' });
      holder.kill('SIGKILL');
      const t0 = performance.now();
      const permit = await limiter.acquire(1, AbortSignal.timeout(10_000));
      const waited = performance.now() - t0;
      // the last renewal was at most 1/3 of a lease before the kill: the slot returns within ~1 s
      t.diagnostic(`slot back ${Math.round(waited)} ms after the kill`);
      assert.ok(waited <= 3000, `slot came back after ${Math.round(waited)} ms`);
      permit.release();
    } finally {
      holder.kill('SIGKILL');
      await limiters.close();
    }
  });

  it('Redis down: the call fails as retryable and nothing is sent to the provider', async () => {
    const srv = await startOpenAiServer({ apiKey: KEY });
    const limiters = new SharedLimiterRegistry(`redis://127.0.0.1:${await freePort()}`);
    try {
      const model: ServiceModel = {
        provider: 'openai',
        model: 'm-down',
        baseURL: `${srv.url}/v1`,
        batch: false,
        price,
      };
      const client = createLlmClient({ model, env: { OPENAI_API_KEY: KEY }, limiters });
      await assert.rejects(client.generate({ model, prompt: 'x' }), (err: Error) => {
        assert.ok(err instanceof SharedLimiterUnavailableError);
        assert.match(err.message, /shared rate limiter unavailable/);
        return true;
      });
      assert.equal(srv.stats.requests, 0);
    } finally {
      limiters.redis.disconnect();
      await srv.close();
    }
  });

  it('the worker environment picks the limiter; the per-process fallback warns once, loudly', async () => {
    const warnings: string[] = [];
    const local = limitersFromEnv({}, (m) => warnings.push(m));
    assert.ok(local instanceof LimiterRegistry);
    assert.deepEqual(warnings, [PER_PROCESS_WARNING]);
    assert.match(warnings[0]!, /PER PROCESS/);
    const shared = limitersFromEnv(
      { LLAMADUO_REDIS_URL: redis.url, LLAMADUO_RATE_LIMITS: '{"openai/gpt-4o": {"rpm": 42}}' },
      (m) => warnings.push(m),
    );
    try {
      assert.ok(shared instanceof SharedLimiterRegistry);
      assert.equal(warnings.length, 1, 'no warning when limits are shared');
      assert.equal(shared.for({ provider: 'openai', model: 'gpt-4o', batch: false }).limits.rpm, 42);
    } finally {
      await (shared as SharedLimiterRegistry).close();
    }
  });
});

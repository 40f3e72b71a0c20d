// One "worker replica" for the shared-limiter tests and benchmark: a process of its own with its own Redis
// connection, sending `requests` calls through the real client to one provider server. Arguments: one JSON
// object (ReplicaJob). Prints one JSON line `{"ok":N,"failed":N,"rateLimited":N,"sendAt":[ms…]}` when done
// (sendAt: each permit's slot on the limiter's clock, Redis time when shared), or `held` in hold mode (takes
// one concurrency lease and waits to be killed).
import { createLlmClient } from '../../../activities/llm/factory';
import {
  LimiterRegistry,
  type Limiters,
  type Limits,
  type RateLimiter,
} from '../../../activities/llm/limiter';
import type { DeploymentLimits } from '../../../activities/llm/rate-limit-settings';
import { SharedLimiterRegistry } from '../../../activities/llm/shared-limiter';
import type { ServiceModel } from '../../../common/config';

export interface ReplicaJob {
  mode: 'send' | 'hold';
  /** unset: per-process limiter (the fallback), for comparison runs */
  redisUrl?: string;
  model: ServiceModel;
  settings: DeploymentLimits;
  limits?: Partial<Limits>;
  leaseMs?: number;
  requests: number;
  prompts: string[];
  maxOutputTokens: number;
  apiKey: string;
}

const job = JSON.parse(process.argv[2]!) as ReplicaJob;
const limiters = job.redisUrl
  ? new SharedLimiterRegistry(job.redisUrl, job.settings, { leaseMs: job.leaseMs })
  : new LimiterRegistry(undefined, job.settings);

if (job.mode === 'hold') {
  await limiters.for(job.model, job.limits).acquire(1);
  console.log('held');
  setInterval(() => {}, 60_000);
} else {
  // every permit's slot, as the limiter scheduled it
  const sendAt: number[] = [];
  const recording: Limiters = {
    for: (model, overrides) => {
      const l = limiters.for(model, overrides);
      const r: RateLimiter = {
        limits: l.limits,
        stats: l.stats,
        acquire: async (tokens, signal) => {
          const p = await l.acquire(tokens, signal);
          sendAt.push(p.sendAt);
          return p;
        },
        rateLimited: (ms, at) => l.rateLimited(ms, at),
        observeLimits: (seen) => l.observeLimits(seen),
      };
      return r;
    },
  };
  const client = createLlmClient({
    model: job.model,
    env: { OPENAI_API_KEY: job.apiKey },
    limiters: recording,
    limits: job.limits,
    tuning: { timeoutMs: 30_000, backoffMs: 50, maxBackoffMs: 500 },
  });
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: job.requests }, async (_, i) => {
      try {
        await client.generate({
          model: job.model,
          prompt: job.prompts[i % job.prompts.length]!,
          maxOutputTokens: job.maxOutputTokens,
        });
        ok++;
      } catch (err) {
        failed++;
        process.stderr.write(`replica: ${(err as Error).message}\n`);
      }
    }),
  );
  const rateLimited = limiters.for(job.model, job.limits).stats.rateLimited;
  console.log(JSON.stringify({ ok, failed, rateLimited, sendAt }));
  if (limiters instanceof SharedLimiterRegistry) await limiters.close();
}

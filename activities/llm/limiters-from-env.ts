// Picks the worker's rate limiters from its environment: LLAMADUO_REDIS_URL set -> limits shared by every
// replica through Redis/Valkey; unset -> per-process limits, announced loudly because N replicas then send
// N times each limit. LLAMADUO_RATE_LIMITS gives the limits per model (rate-limit-settings.ts).
import { LimiterRegistry, type Limiters } from './limiter';
import { parseRateLimits } from './rate-limit-settings';
import { SharedLimiterRegistry } from './shared-limiter';

export const PER_PROCESS_WARNING =
  'WARNING: LLAMADUO_REDIS_URL is not set, so LLM rate limits are PER PROCESS: every worker replica ' +
  'spends the full RPM/TPM/concurrency of each model on its own, and N replicas send N times the ' +
  "provider's limit. Set LLAMADUO_REDIS_URL to a Redis/Valkey reachable by all LLM workers to share them.";

const opened: SharedLimiterRegistry[] = [];

/** Closes the Redis connections limitersFromEnv opened (at worker shutdown, so the process can exit). */
export async function closeLimiters(): Promise<void> {
  await Promise.all(opened.splice(0).map((r) => r.close()));
}

export function limitersFromEnv(
  env: Record<string, string | undefined>,
  warn: (message: string) => void = (m) => console.warn(m),
): Limiters {
  const settings = parseRateLimits(env.LLAMADUO_RATE_LIMITS);
  const url = env.LLAMADUO_REDIS_URL;
  if (url) {
    const shared = new SharedLimiterRegistry(url, settings, { warn });
    opened.push(shared);
    return shared;
  }
  // The embedded mode runs the only worker there is: its per-process limits are the whole limit.
  if (env.LLAMADUO_SINGLE_WORKER !== '1') warn(PER_PROCESS_WARNING);
  return new LimiterRegistry(undefined, settings);
}

// Per provider+model budgets shared by every call in a worker: requests per minute, tokens per minute and
// concurrent requests. Budgets are token buckets refilled continuously (providers enforce per-minute
// limits over short windows, so a burst of a minute's quota would be refused); a request starts only when
// all three allow it, so no call is fired just to be turned away. A 429 pauses every caller of the model
// until the server's retry-after, empties the request bucket and lowers the pace a little (raised again
// by each success).
//
// Written here rather than taken from a library: bottleneck (last release 2019) refreshes its reservoir
// on a fixed interval (the bursty pattern providers reject) and cannot lower its pace on a 429; p-limit
// bounds concurrency only. This is ~150 lines and needs neither.
import type { ServiceModel } from '../../common/config';
import { resolveLimits, type DeploymentLimits } from './rate-limit-settings';

export interface Limits {
  rpm: number;
  tpm: number;
  maxConcurrency: number;
  /**
   * Seconds of the per-minute budget that may be spent at once (bucket size); default 0.5: half of what a
   * provider enforcing per second allows, so requests bunched by network jitter still arrive within it.
   */
  burstSeconds?: number;
  /** share of the limit to aim for, to absorb clock and network jitter; default 0.98 */
  headroom?: number;
}

/** Conservative starting points (low paid tiers); a config's rpm/tpm replaces them. */
export const PROVIDER_LIMITS: Record<ServiceModel['provider'], Limits> = {
  openai: { rpm: 500, tpm: 30_000, maxConcurrency: 32 },
  anthropic: { rpm: 50, tpm: 40_000, maxConcurrency: 16 },
  google: { rpm: 1000, tpm: 1_000_000, maxConcurrency: 32 },
  'openai-compatible': { rpm: 6000, tpm: 10_000_000, maxConcurrency: 16 },
};

const DEFAULT_BURST_SECONDS = 0.5;

export interface Clock {
  now(): number;
}
const realClock: Clock = { now: () => performance.now() };

class TokenBucket {
  level: number;
  private last: number;
  constructor(
    public capacity: number,
    public perMs: number,
    private readonly clock: Clock,
  ) {
    this.level = capacity;
    this.last = clock.now();
  }
  refill(): void {
    const t = this.clock.now();
    this.level = Math.min(this.capacity, this.level + (t - this.last) * this.perMs);
    this.last = t;
  }
  /** ms until `cost` fits (a cost above the capacity waits for a full bucket and then overdraws it) */
  waitFor(cost: number): number {
    this.refill();
    const need = Math.min(cost, this.capacity);
    return this.level >= need ? 0 : (need - this.level) / this.perMs;
  }
}

export interface Permit {
  /** clock time the request was let go */
  readonly startedAt: number;
  /** Returns the concurrency slot; `actualTokens` (when known) corrects the token reservation. */
  release(actualTokens?: number): void;
}

export interface LimiterStats {
  started: number;
  rateLimited: number;
  /** total ms callers spent waiting for a permit */
  waitedMs: number;
}

interface Waiter {
  tokens: number;
  resolve: (p: Permit) => void;
  reject: (e: unknown) => void;
  since: number;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * What a client needs from a model's limiter: this per-process one, or the Redis-backed one shared by every
 * replica (shared-limiter.ts).
 */
export interface RateLimiter {
  readonly limits: Limits;
  readonly stats: LimiterStats;
  /** Waits (FIFO) until a request of about `tokens` tokens may start. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Permit>;
  /** The server said 429 to a request started at `startedAt` (a Permit's): pause and slow down. */
  rateLimited(retryAfterMs: number, startedAt?: number): void;
  /** Limits the server reports (rate-limit headers): a lower one than configured replaces it. */
  observeLimits(seen: { rpm?: number; tpm?: number }): void;
}

/** Hands out one limiter per provider + endpoint + model. */
export interface Limiters {
  for(model: ServiceModel, overrides?: Partial<Limits>): RateLimiter;
}

/** The limiter of one worker process: correct for one replica only (see shared-limiter.ts). */
export class LocalRateLimiter implements RateLimiter {
  private readonly requests: TokenBucket;
  private readonly tokens: TokenBucket;
  private readonly queue: Waiter[] = [];
  private inFlight = 0;
  private pausedUntil = 0;
  private pace = 1;
  private lastSlowdown = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly stats: LimiterStats = { started: 0, rateLimited: 0, waitedMs: 0 };

  readonly limits: Limits;

  constructor(
    limits: Limits,
    private readonly clock: Clock = realClock,
  ) {
    this.limits = { ...limits };
    const burst = limits.burstSeconds ?? DEFAULT_BURST_SECONDS;
    const h = limits.headroom ?? 0.98;
    this.requests = new TokenBucket(
      Math.max(1, (limits.rpm / 60) * burst * h),
      (limits.rpm * h) / 60_000,
      clock,
    );
    this.tokens = new TokenBucket(
      Math.max(1, (limits.tpm / 60) * burst * h),
      (limits.tpm * h) / 60_000,
      clock,
    );
  }

  /** Waits (FIFO) until a request of about `tokens` tokens may start. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Permit> {
    signal?.throwIfAborted();
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { tokens, resolve, reject, since: this.clock.now(), signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason);
          this.pump();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.pump();
    });
  }

  /**
   * The server said 429 to a request started at `startedAt`: nobody starts before `retryAfterMs`, and the
   * pace drops by 15% once per episode (429s of requests already in flight at the last drop don't count again).
   */
  rateLimited(retryAfterMs: number, startedAt = this.clock.now()): void {
    this.stats.rateLimited++;
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + retryAfterMs);
    this.requests.refill();
    this.requests.level = Math.min(this.requests.level, 0);
    if (startedAt >= this.lastSlowdown) {
      this.lastSlowdown = this.clock.now();
      this.setPace(Math.max(0.05, this.pace * 0.85));
    }
    this.pump();
  }

  /** Limits the server reports (rate-limit headers): a lower one than configured replaces it. */
  observeLimits(seen: { rpm?: number; tpm?: number }): void {
    let changed = false;
    if (seen.rpm && seen.rpm < this.limits.rpm) {
      this.limits.rpm = seen.rpm;
      changed = true;
    }
    if (seen.tpm && seen.tpm < this.limits.tpm) {
      this.limits.tpm = seen.tpm;
      changed = true;
    }
    if (!changed) return;
    const burst = this.limits.burstSeconds ?? DEFAULT_BURST_SECONDS;
    const h = this.limits.headroom ?? 0.98;
    this.requests.capacity = Math.max(1, (this.limits.rpm / 60) * burst * h);
    this.tokens.capacity = Math.max(1, (this.limits.tpm / 60) * burst * h);
    this.requests.level = Math.min(this.requests.level, this.requests.capacity);
    this.tokens.level = Math.min(this.tokens.level, this.tokens.capacity);
    this.setPace(this.pace);
  }

  private setPace(p: number): void {
    this.requests.refill();
    this.tokens.refill();
    const h = this.limits.headroom ?? 0.98;
    this.pace = p;
    this.requests.perMs = (this.limits.rpm * h * p) / 60_000;
    this.tokens.perMs = (this.limits.tpm * h * p) / 60_000;
  }

  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      if (this.inFlight >= this.limits.maxConcurrency) return; // a release will pump again
      const head = this.queue[0]!;
      const wait = Math.max(
        this.pausedUntil - this.clock.now(),
        this.requests.waitFor(1),
        this.tokens.waitFor(head.tokens),
      );
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
        return;
      }
      this.queue.shift();
      if (head.signal && head.onAbort) head.signal.removeEventListener('abort', head.onAbort);
      this.requests.level -= 1;
      this.tokens.level -= head.tokens;
      this.inFlight++;
      this.stats.started++;
      this.stats.waitedMs += this.clock.now() - head.since;
      head.resolve(this.permit(head.tokens));
    }
  }

  private permit(reserved: number): Permit {
    let released = false;
    return {
      startedAt: this.clock.now(),
      release: (actualTokens?: number) => {
        if (released) return;
        released = true;
        this.inFlight--;
        if (actualTokens !== undefined && actualTokens > reserved) {
          this.tokens.refill();
          this.tokens.level -= actualTokens - reserved;
        }
        if (this.pace < 1) this.setPace(Math.min(1, this.pace + 0.02));
        this.pump();
      },
    };
  }
}

export function limiterKey(model: ServiceModel): string {
  return `${model.provider}|${model.baseURL ?? ''}|${model.model}`;
}

/**
 * One limiter per provider + endpoint + model, shared by every client built in this worker. Its limits are
 * fixed by the first client built for the model (see rate-limit-settings.ts for the order of precedence).
 */
export class LimiterRegistry implements Limiters {
  private readonly limiters = new Map<string, LocalRateLimiter>();
  constructor(
    private readonly clock: Clock = realClock,
    private readonly settings: DeploymentLimits = {},
  ) {}

  for(model: ServiceModel, overrides: Partial<Limits> = {}): LocalRateLimiter {
    const key = limiterKey(model);
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new LocalRateLimiter(resolveLimits(model, this.settings, overrides), this.clock);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}

/** The worker-wide registry `createLlmClient` uses unless given another. */
export const sharedLimiters = new LimiterRegistry();

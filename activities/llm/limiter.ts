// Per provider+model budgets shared by every call in a worker: requests per minute, tokens per minute and
// concurrent requests. Each budget is paced by pacing.ts (a token bucket bounded so that no 10 s window lets
// more go than the limit's share of it); a request gets its send time as soon as every budget allows it, so
// no call is fired just to be turned away. A 429 pauses every caller of the model until the server's
// retry-after, empties the request bucket and lowers the pace a little (raised again by each success).
//
// Written here rather than taken from a library: bottleneck (last release 2019) refreshes its reservoir
// on a fixed interval (the bursty pattern providers reject) and cannot lower its pace on a 429; p-limit
// bounds concurrency only. This is ~200 lines and needs neither.
import type { ServiceModel } from '../../common/config';
import {
  bucketShape,
  charge,
  earliest,
  empty,
  lateToleranceMs,
  RESERVE_AHEAD_MS,
  type BucketShape,
  type Gcra,
} from './pacing';
import { resolveLimits, type DeploymentLimits } from './rate-limit-settings';

export interface Limits {
  rpm: number;
  tpm: number;
  maxConcurrency: number;
  /**
   * Seconds of quota that may go at once after an idle spell (bucket size); default 0.1. Bounded by
   * pacing.ts to half of what a `windowSeconds` window leaves over the refill.
   */
  burstSeconds?: number;
  /** share of the limit to refill at (sustained throughput), to absorb jitter; default 0.96 */
  headroom?: number;
  /** the window no share of which may be exceeded; default 10 s */
  windowSeconds?: number;
}

/** Conservative starting points (low paid tiers); a config's rpm/tpm replaces them. */
export const PROVIDER_LIMITS: Record<ServiceModel['provider'], Limits> = {
  openai: { rpm: 500, tpm: 30_000, maxConcurrency: 32 },
  anthropic: { rpm: 50, tpm: 40_000, maxConcurrency: 16 },
  google: { rpm: 1000, tpm: 1_000_000, maxConcurrency: 32 },
  'openai-compatible': { rpm: 6000, tpm: 10_000_000, maxConcurrency: 16 },
};

export interface Clock {
  now(): number;
}
const realClock: Clock = { now: () => performance.now() };

export interface Permit {
  /** limiter-clock time the slot was handed out (a 429 of a request handed out before a slow-down is not a new episode) */
  readonly startedAt: number;
  /** limiter-clock time the request was let go (its slot in the schedule) */
  readonly sendAt: number;
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
  /** set while the waiter holds a slot and waits for its send time */
  timer?: ReturnType<typeof setTimeout>;
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
  private readonly requests: Gcra = { tat: -Infinity };
  private readonly tokens: Gcra = { tat: -Infinity };
  private requestShape: BucketShape;
  private tokenShape: BucketShape;
  private readonly queue: Waiter[] = [];
  private inFlight = 0;
  private pausedUntil = -Infinity;
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
    this.requestShape = bucketShape(limits.rpm, limits, true);
    this.tokenShape = bucketShape(limits.tpm, limits, false);
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
          if (w.timer !== undefined) {
            // it held a slot: the concurrency slot comes back, the rate slot is spent
            clearTimeout(w.timer);
            w.timer = undefined;
            this.inFlight--;
          }
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
   * pace drops by 15% once per episode (429s of requests already handed out at the last drop don't count again).
   */
  rateLimited(retryAfterMs: number, startedAt = this.clock.now()): void {
    this.stats.rateLimited++;
    const now = this.clock.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    empty(this.requests, this.requestShape, this.pace, now);
    if (startedAt >= this.lastSlowdown) {
      this.lastSlowdown = now;
      this.pace = Math.max(0.05, this.pace * 0.85);
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
    this.requestShape = bucketShape(this.limits.rpm, this.limits, true);
    this.tokenShape = bucketShape(this.limits.tpm, this.limits, false);
  }

  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      if (this.inFlight >= this.limits.maxConcurrency) return; // a release will pump again
      const head = this.queue[0]!;
      const now = this.clock.now();
      const at = Math.max(
        now,
        this.pausedUntil,
        earliest(this.requests, this.requestShape, this.pace, 1),
        earliest(this.tokens, this.tokenShape, this.pace, head.tokens),
      );
      if (at - now > RESERVE_AHEAD_MS) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(at - now - RESERVE_AHEAD_MS));
        return;
      }
      this.queue.shift();
      charge(this.requests, this.requestShape, this.pace, 1, at);
      charge(this.tokens, this.tokenShape, this.pace, head.tokens, at);
      this.inFlight++;
      if (at <= now) this.deliver(head, now, at);
      else head.timer = setTimeout(() => this.deliver(head, now, at), Math.ceil(at - now));
    }
  }

  /**
   * The waiter's send time has come: let it go, unless a 429 pause began after its slot was handed out or
   * this process woke up too late for the slot (pacing.ts); then it queues again at the head.
   */
  private deliver(w: Waiter, reservedAt: number, sendAt: number): void {
    w.timer = undefined;
    const late = this.clock.now() - sendAt;
    if (this.pausedUntil > sendAt || late > lateToleranceMs(this.limits.rpm, this.limits, this.pace)) {
      this.inFlight--;
      this.queue.unshift(w);
      this.pump();
      return;
    }
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    this.stats.started++;
    this.stats.waitedMs += this.clock.now() - w.since;
    w.resolve(this.permit(w.tokens, reservedAt, sendAt));
  }

  private permit(reserved: number, startedAt: number, sendAt: number): Permit {
    let released = false;
    return {
      startedAt,
      sendAt,
      release: (actualTokens?: number) => {
        if (released) return;
        released = true;
        this.inFlight--;
        if (actualTokens !== undefined && actualTokens > reserved)
          charge(this.tokens, this.tokenShape, this.pace, actualTokens - reserved, this.clock.now());
        if (this.pace < 1) this.pace = Math.min(1, this.pace + 0.02);
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

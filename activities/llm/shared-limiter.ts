// Rate limits that hold across worker replicas: the token buckets, the concurrency leases, the 429 pause and
// the adaptive pace of each provider+endpoint+model live in Redis (or Valkey) and change only inside the Lua
// scripts of shared-limiter-scripts.ts, which run atomically on the server's clock and follow pacing.ts.
// Within a process, callers queue FIFO and only the head asks Redis, so a thousand waiting calls cost one
// poll, not a thousand. Redis hands out a slot (a send time at most RESERVE_AHEAD_MS away); the caller
// waits for it here, so a late poll costs no throughput. A 429 this process saw holds back its own callers
// whose slot falls in the pause; other replicas' callers already holding a slot (at most that half second's
// worth) still go.
//
// A concurrency lease expires `leaseMs` after its last renewal; a holder renews it every leaseMs/3, so a
// worker that dies (SIGKILL, OOM, a lost node) gives its slots back within leaseMs.
//
// Redis unreachable: acquire() fails with SharedLimiterUnavailableError, a retryable activity failure;
// nothing is sent to the provider unmetered.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ServiceModel } from '../../common/config';
import {
  limiterKey,
  type LimiterStats,
  type Limiters,
  type Limits,
  type Permit,
  type RateLimiter,
} from './limiter';
import {
  DEFAULT_BURST_SECONDS,
  DEFAULT_HEADROOM,
  DEFAULT_WINDOW_SECONDS,
  lateToleranceMs,
  RESERVE_AHEAD_MS,
} from './pacing';
import { resolveLimits, type DeploymentLimits } from './rate-limit-settings';
import { ACQUIRE, OBSERVE, RATE_LIMITED, RELEASE, RENEW, STATE } from './shared-limiter-scripts';

/** The shared limiter cannot reach Redis; the call was not sent. Retryable: Temporal tries again later. */
export class SharedLimiterUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`shared rate limiter unavailable (Redis): ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'SharedLimiterUnavailableError';
  }
}

/** {1, handedOutAt, sendAt} (Redis ms, as strings with µs) or {0, waitMs} */
type Reply = [number, number | string, string?];
interface LimiterCommands {
  rlAcquire(...args: (string | number)[]): Promise<Reply>;
  rlRelease(...args: (string | number)[]): Promise<number>;
  rlRateLimited(...args: (string | number)[]): Promise<number>;
  rlRenew(...args: (string | number)[]): Promise<number>;
  rlObserve(...args: (string | number)[]): Promise<number>;
  rlState(...args: (string | number)[]): Promise<[string, number, number]>;
}
type LimiterRedis = Redis & LimiterCommands;

export interface SharedLimiterOptions {
  /** key prefix, so several installations can share one Redis; default `llamaduo:rl` */
  prefix?: string;
  /** concurrency lease lifetime without renewal; default 30 s */
  leaseMs?: number;
  /** longest wait between polls while all leases are taken; default 100 ms */
  pollMs?: number;
  /** logs failures of fire-and-forget updates (release, 429, learned limits); default console.warn */
  warn?: (message: string) => void;
}

/** Connects with the settings the limiter needs: fail fast instead of queueing commands for minutes. */
export function connectLimiterRedis(url: string): LimiterRedis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // ioredis emits 'error' on every failed reconnect; the failed commands carry the error to callers.
  redis.on('error', () => {});
  // defineCommand sends EVALSHA and falls back to EVAL (loading the script) on NOSCRIPT by itself.
  redis.defineCommand('rlAcquire', { numberOfKeys: 4, lua: ACQUIRE });
  redis.defineCommand('rlRelease', { numberOfKeys: 4, lua: RELEASE });
  redis.defineCommand('rlRateLimited', { numberOfKeys: 4, lua: RATE_LIMITED });
  redis.defineCommand('rlRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('rlObserve', { numberOfKeys: 1, lua: OBSERVE });
  redis.defineCommand('rlState', { numberOfKeys: 2, lua: STATE });
  return redis as LimiterRedis;
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
  leaseId?: string;
}

export class SharedRateLimiter implements RateLimiter {
  readonly limits: Limits;
  readonly stats: LimiterStats = { started: 0, rateLimited: 0, waitedMs: 0 };
  private readonly keys: [string, string, string, string];
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly warn: (message: string) => void;
  /** local clock: until when a 429 this process saw pauses the model (its own callers holding a slot wait) */
  private pausedUntil = -Infinity;

  constructor(
    private readonly redis: LimiterRedis,
    key: string,
    limits: Limits,
    opts: SharedLimiterOptions = {},
  ) {
    this.limits = { ...limits };
    const base = `${opts.prefix ?? 'llamaduo:rl'}:{${key}}`;
    this.keys = [`${base}:req`, `${base}:tok`, `${base}:sem`, `${base}:ctl`];
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 100;
    this.warn = opts.warn ?? ((m) => console.warn(m));
  }

  private limitArgs(): number[] {
    const l = this.limits;
    return [
      l.rpm,
      l.tpm,
      l.maxConcurrency,
      l.burstSeconds ?? DEFAULT_BURST_SECONDS,
      l.headroom ?? DEFAULT_HEADROOM,
      l.windowSeconds ?? DEFAULT_WINDOW_SECONDS,
    ];
  }

  acquire(tokens: number, signal?: AbortSignal): Promise<Permit> {
    signal?.throwIfAborted();
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { tokens, resolve, reject, since: performance.now(), signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          if (w.timer !== undefined) {
            // it held a slot: the lease goes back, the rate slot is spent
            clearTimeout(w.timer);
            w.timer = undefined;
            this.giveBack(w.leaseId!);
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      void this.pump();
    });
  }

  /** Serves the local queue head by head; one Redis round trip per attempt. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        const leaseId = randomUUID();
        let reply: Reply;
        try {
          reply = await this.redis.rlAcquire(
            ...this.keys,
            ...this.limitArgs(),
            head.tokens,
            leaseId,
            this.leaseMs,
            RESERVE_AHEAD_MS,
          );
        } catch (err) {
          // Everyone queued here would fail the same way: fail them now, nothing was sent.
          const e = new SharedLimiterUnavailableError(err);
          for (const w of this.queue.splice(0)) this.settle(w).reject(e);
          return;
        }
        const [granted, first, second] = reply;
        const value = Number(first);
        if (granted === 1) {
          const sendAt = Number(second);
          if (this.queue[0] !== head) {
            // aborted while Redis granted it: hand the lease back
            this.giveBack(leaseId);
            continue;
          }
          this.queue.shift();
          head.leaseId = leaseId;
          const delay = sendAt - value; // both Redis ms
          if (delay <= 0) this.deliver(head, value, sendAt);
          else {
            const due = performance.now() + delay;
            head.timer = setTimeout(() => this.deliver(head, value, sendAt, due), delay);
          }
          continue;
        }
        const waitMs = value < 0 ? this.pollMs : Math.min(value, 5_000);
        // a little jitter so replicas waiting on the same refill don't all ask at the same instant
        await new Promise((r) => setTimeout(r, waitMs + Math.random() * Math.min(20, waitMs / 4)));
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The waiter's slot has come: let it go, unless a 429 this process saw since pauses the model past the
   * slot (by more than clock rounding) or this process woke up too late for the slot (pacing.ts); then it
   * queues again at the head (its lease goes back). The tolerance is taken at full pace: the shared pace
   * lives in Redis.
   */
  private deliver(w: Waiter, handedOutAt: number, sendAt: number, due = performance.now()): void {
    w.timer = undefined;
    const late = performance.now() - due;
    if (this.pausedUntil > due + 25 || late > lateToleranceMs(this.limits.rpm, this.limits, 1)) {
      this.giveBack(w.leaseId!);
      w.leaseId = undefined;
      this.queue.unshift(w);
      void this.pump();
      return;
    }
    this.stats.started++;
    this.stats.waitedMs += performance.now() - w.since;
    this.settle(w).resolve(this.permit(w.leaseId!, w.tokens, handedOutAt, sendAt));
  }

  private giveBack(leaseId: string): void {
    void this.redis.rlRelease(...this.keys, ...this.limitArgs(), leaseId, 0).catch(() => {});
  }

  private settle(w: Waiter): Waiter {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    return w;
  }

  private permit(leaseId: string, reserved: number, startedAt: number, sendAt: number): Permit {
    let released = false;
    const renew = setInterval(
      () => {
        this.redis.rlRenew(this.keys[2], leaseId, this.leaseMs).catch((err: unknown) => {
          this.warn(`rate limiter: lease renewal failed: ${(err as Error).message}`);
        });
      },
      Math.max(50, this.leaseMs / 3),
    );
    renew.unref();
    return {
      startedAt,
      sendAt,
      release: (actualTokens?: number) => {
        if (released) return;
        released = true;
        clearInterval(renew);
        const extra = actualTokens !== undefined ? Math.max(0, actualTokens - reserved) : 0;
        this.redis
          .rlRelease(...this.keys, ...this.limitArgs(), leaseId, extra)
          .catch((err: unknown) =>
            this.warn(
              `rate limiter: release failed (the lease expires in ${this.leaseMs} ms): ${(err as Error).message}`,
            ),
          );
      },
    };
  }

  /** Shares the pause and the slow-down with every replica; `startedAt` is a Permit's (Redis time). */
  rateLimited(retryAfterMs: number, startedAt = 0): void {
    this.stats.rateLimited++;
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + retryAfterMs);
    this.redis
      .rlRateLimited(...this.keys, ...this.limitArgs(), Math.ceil(retryAfterMs), startedAt)
      .catch((err: unknown) => this.warn(`rate limiter: recording a 429 failed: ${(err as Error).message}`));
  }

  observeLimits(seen: { rpm?: number; tpm?: number }): void {
    const rpm = seen.rpm && seen.rpm < this.limits.rpm ? seen.rpm : 0;
    const tpm = seen.tpm && seen.tpm < this.limits.tpm ? seen.tpm : 0;
    if (!rpm && !tpm) return;
    if (rpm) this.limits.rpm = rpm;
    if (tpm) this.limits.tpm = tpm;
    this.redis
      .rlObserve(this.keys[3], rpm, tpm)
      .catch((err: unknown) =>
        this.warn(`rate limiter: recording learned limits failed: ${(err as Error).message}`),
      );
  }

  /** The shared state of this model: pace (1 = full speed), ms left of a 429 pause, leases held. */
  async state(): Promise<{ pace: number; pausedMs: number; leases: number }> {
    const [pace, pausedMs, leases] = await this.redis.rlState(this.keys[3], this.keys[2]);
    return { pace: Number(pace), pausedMs, leases };
  }
}

/** One shared limiter per provider + endpoint + model, all on one Redis connection. */
export class SharedLimiterRegistry implements Limiters {
  private readonly limiters = new Map<string, SharedRateLimiter>();
  readonly redis: LimiterRedis;

  constructor(
    redisUrl: string,
    private readonly settings: DeploymentLimits = {},
    private readonly opts: SharedLimiterOptions = {},
  ) {
    this.redis = connectLimiterRedis(redisUrl);
  }

  for(model: ServiceModel, overrides: Partial<Limits> = {}): SharedRateLimiter {
    const limits = resolveLimits(model, this.settings, overrides);
    // Limits travel with each call, so clients of one model with different (lowered) limits still share
    // its buckets in Redis; locally each set of limits gets its own queue.
    const key = `${limiterKey(model)}|${limits.rpm}|${limits.tpm}|${limits.maxConcurrency}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new SharedRateLimiter(this.redis, limiterKey(model), limits, this.opts);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

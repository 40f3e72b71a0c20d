// The LlmClient every teacher/judge call goes through, the same for all providers: each attempt waits for
// the shared rate limiter and reserves its worst-case cost against the spend limit before it is fired;
// 429s pause the model's limiter for the server's retry-after; 5xx, timeouts and dropped connections back
// off exponentially with jitter; structured replies are validated with zod and, when invalid, asked for
// again with the error fed back. Usage and USD are counted on every reply the provider billed.
import type { z } from 'zod';
import type { ServiceModel } from '../../common/config';
import { addUsage, ZERO_USAGE, type Usage } from '../../common/types';
import type { LlmClient, LlmFailureReason, LlmRequest, LlmText, StructuredResult } from './client';
import { classify, LlmError } from './errors';
import { activityScope } from '../metrics/activity-scope';
import type { MetricsSink } from '../metrics/sink';
import type { RateLimiter } from './limiter';
import { costUsd, type Price } from './pricing';
import { maxTokensOf, turns, type Completion, type ProviderAdapter, type StructuredSpec } from './provider';
import { BudgetExceededError, SpendMeter } from './spend';
import { parseStructured, planStructured } from './structured';

export interface ServiceClientOptions {
  model: ServiceModel;
  adapter: ProviderAdapter;
  limiter: RateLimiter;
  price: Price;
  /** strings scrubbed from every error message (the API key) */
  secrets: readonly string[];
  spend?: SpendMeter;
  /** attempts per call for transient failures (429, 5xx, timeout); default 6 */
  maxAttempts?: number;
  /** attempts answered 429 before the call fails as rate-limited; default 30 */
  maxRateLimitedAttempts?: number;
  /** model replies asked for per structured call (the first plus corrections); default 3 */
  structuredAttempts?: number;
  /** per-attempt timeout; default 120 s */
  timeoutMs?: number;
  /** first backoff after a 5xx/timeout; doubles per attempt up to maxBackoffMs; default 500 ms / 30 s */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** max output tokens when neither the call nor the model config sets one; default 1024 */
  defaultMaxTokens?: number;
  /** called once per billed reply */
  onUsage?: (usage: Usage, info: { batch: boolean }) => void;
  /** spend, limiter waits and 429s for the worker's /metrics (labelled with the running activity's scope) */
  metrics?: MetricsSink;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The client's rough token count for budgeting before a call: four characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function usageOf(c: Completion, price: Price, batch: boolean): Usage {
  return { calls: 1, ...c.tokens, usd: costUsd(price, c.tokens, { batch }) };
}

export class ServiceLlmClient implements LlmClient {
  readonly model: ServiceModel;
  readonly adapter: ProviderAdapter;
  readonly price: Price;
  private readonly o: ServiceClientOptions;
  private readonly sleep: NonNullable<ServiceClientOptions['sleep']>;

  constructor(opts: ServiceClientOptions) {
    this.o = opts;
    this.model = opts.model;
    this.adapter = opts.adapter;
    this.price = opts.price;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  get defaultMaxTokens(): number {
    return this.o.defaultMaxTokens ?? 1024;
  }

  /** Prompt tokens + the output allowance: what the limiter and the budget reserve for one attempt. */
  estimate(req: LlmRequest): { tokens: number; usd: number; prompt: number; output: number } {
    const prompt =
      estimateTokens(req.system ?? '') + turns(req).reduce((n, t) => n + estimateTokens(t.content), 0);
    const output = maxTokensOf(req, this.defaultMaxTokens);
    const usd = costUsd(this.price, { inputTokens: prompt, outputTokens: output, cachedTokens: 0 });
    return { tokens: prompt + output, usd, prompt, output };
  }

  /**
   * The same model, transport and rate limiter, with its own spend limit: every attempt reserves its
   * worst-case cost before it is fired, so the work done through it never passes `limitUsd`.
   */
  private get labels() {
    return { provider: this.model.provider, model: this.model.model };
  }

  withSpendLimit(limitUsd: number, spentUsd = 0): ServiceLlmClient {
    return new ServiceLlmClient({ ...this.o, spend: new SpendMeter(limitUsd, spentUsd) });
  }

  withSpendMeter(meter: SpendMeter): ServiceLlmClient {
    return new ServiceLlmClient({ ...this.o, spend: meter });
  }

  /** An SDK error as a classified LlmError with this client's secrets scrubbed. */
  classifyError(err: unknown, timedOut = false): LlmError {
    return classify(err, {
      secrets: this.o.secrets,
      timedOut,
      provider: this.model.provider,
      model: this.model.model,
    });
  }

  /** Reserves `usd` of budget for work about to be fired, or throws LlmError('budget') with nothing fired. */
  reserveBudget(usd: number) {
    try {
      return this.o.spend?.reserve(usd);
    } catch (err) {
      if (err instanceof BudgetExceededError) throw new LlmError('budget', err.message, false);
      throw err;
    }
  }

  recordUsage(u: Usage, batch: boolean): void {
    this.o.onUsage?.(u, { batch });
    const scope = activityScope.getStore();
    this.o.metrics?.llmUsage(
      {
        provider: this.model.provider,
        model: this.model.model,
        stage: scope?.stage ?? 'unknown',
        migration: scope?.migrationId ?? 'unknown',
      },
      { usd: u.usd, inputTokens: u.inputTokens, outputTokens: u.outputTokens, batch },
    );
  }

  private backoff(attempt: number): number {
    const base = this.o.backoffMs ?? 500;
    const ms = Math.min(this.o.maxBackoffMs ?? 30_000, base * 2 ** (attempt - 1));
    return ms / 2 + Math.random() * (ms / 2);
  }

  /** One completion with transient failures retried; throws a classified LlmError when it gives up. */
  async complete(
    req: LlmRequest,
    structured?: StructuredSpec,
  ): Promise<{ completion: Completion; usage: Usage }> {
    const est = this.estimate(req);
    const maxAttempts = this.o.maxAttempts ?? 6;
    let rateLimited = 0;
    for (let attempt = 1; ; attempt++) {
      const reservation = this.reserveBudget(est.usd);
      let permit;
      const waitStart = performance.now();
      try {
        permit = await this.o.limiter.acquire(est.tokens, req.signal);
        this.o.metrics?.limiterWait(this.labels, (performance.now() - waitStart) / 1000);
      } catch (err) {
        reservation?.cancel();
        throw err;
      }
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 120_000);
      const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
      try {
        const completion = await this.adapter.complete(req, structured, { signal });
        const usage = usageOf(completion, this.price, false);
        reservation?.settle(usage.usd);
        permit.release(completion.tokens.inputTokens + completion.tokens.outputTokens);
        this.recordUsage(usage, false);
        return { completion, usage };
      } catch (err) {
        reservation?.cancel();
        permit.release();
        if (req.signal?.aborted) throw req.signal.reason;
        const e = classify(err, {
          secrets: this.o.secrets,
          timedOut: timeout.aborted,
          provider: this.model.provider,
          model: this.model.model,
        });
        if (e.reason === 'rate-limited') {
          rateLimited++;
          this.o.metrics?.rateLimited(this.labels);
          this.o.limiter.rateLimited(e.retryAfterMs ?? this.backoff(rateLimited), permit.startedAt);
          // 429s cost nothing and the limiter spaces them out: they have their own, larger bound.
          if (rateLimited < (this.o.maxRateLimitedAttempts ?? 30)) {
            attempt--;
            continue;
          }
        }
        if (!e.retryable || attempt >= maxAttempts) throw e;
        // After a 429 the limiter holds everyone back; other failures back off here.
        if (e.reason !== 'rate-limited')
          await this.sleep(e.retryAfterMs ?? this.backoff(attempt), req.signal);
      }
    }
  }

  async generate(req: LlmRequest): Promise<LlmText> {
    const { completion, usage } = await this.complete(req);
    if (completion.finish === 'refusal')
      throw new LlmError(
        'refusal',
        `${this.model.model} refused the request`,
        false,
        undefined,
        undefined,
        usage,
      );
    return { text: completion.text, usage, finish: completion.finish };
  }

  async generateStructured<T>(
    req: LlmRequest,
    schema: z.ZodType<T>,
    opts: { name: string },
  ): Promise<StructuredResult<T>> {
    const plan = planStructured(schema, opts.name);
    const maxReplies = this.o.structuredAttempts ?? 3;
    const messages = [...turns(req)];
    let usage: Usage = ZERO_USAGE;
    let reason: LlmFailureReason = 'invalid-output';
    let message = '';
    for (let attempt = 1; attempt <= maxReplies; attempt++) {
      let completion: Completion;
      try {
        const r = await this.complete({ ...req, prompt: messages }, plan.spec);
        completion = r.completion;
        usage = addUsage(usage, r.usage);
      } catch (err) {
        if (!(err instanceof LlmError)) throw err;
        return { ok: false, reason: err.reason, message: err.message, usage, attempts: attempt };
      }
      if (completion.finish === 'refusal')
        return {
          ok: false,
          reason: 'refusal',
          message: `${this.model.model} refused: ${completion.text.slice(0, 200)}`,
          usage,
          attempts: attempt,
        };
      let feedback: string;
      if (completion.finish === 'length') {
        reason = 'truncated';
        message = 'reply cut off at the output token limit';
        feedback = 'Your reply was cut off at the token limit. Reply again with shorter, complete JSON only.';
      } else {
        const parsed = parseStructured(plan, completion.text);
        if (parsed.ok) return { ok: true, value: parsed.value, usage, attempts: attempt };
        reason = 'invalid-output';
        message = parsed.error;
        feedback = `Your reply could not be used: ${parsed.error}. Reply again with only JSON that matches the schema.`;
      }
      messages.push(
        { role: 'assistant', content: completion.text || '(empty)' },
        { role: 'user', content: feedback },
      );
    }
    return { ok: false, reason, message: message.slice(0, 1000), usage, attempts: maxReplies };
  }
}

// Turns whatever an SDK threw into a classified LlmError (reason, retryable, server-advised delay), with
// every known secret scrubbed from the message so a key can never reach a log, an activity failure or
// workflow history.
import { ApplicationFailure } from '@temporalio/common';
import type { Usage } from '../../common/types';
import type { LlmFailureReason } from './client';

export class LlmError extends Error {
  constructor(
    readonly reason: LlmFailureReason,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** ms the server asked us to wait (retry-after and friends) */
    readonly retryAfterMs?: number,
    /** what the provider billed for the failed call (a refusal is a billed reply) */
    readonly usage?: Usage,
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** "1s", "6m0s", "250ms", "1.5" (seconds) -> ms */
function parseDuration(v: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  let ms = 0;
  let matched = false;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true;
    const n = Number(m[1]);
    ms += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return matched ? ms : undefined;
}

/** The wait a 429/503 response asks for: retry-after-ms, retry-after (seconds or date), Gemini RetryInfo. */
export function retryAfterMs(headers: unknown, body: string): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const ra = header(headers, 'retry-after');
  if (ra) {
    if (Number.isFinite(Number(ra))) return Number(ra) * 1000;
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  const reset = header(headers, 'x-ratelimit-reset-requests');
  if (reset) return parseDuration(reset);
  const delay = /"?retryDelay"?\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(body);
  if (delay) return Number(delay[1]) * 1000;
  return undefined;
}

export interface ErrorContext {
  secrets: readonly string[];
  /** true when our own per-request timeout fired */
  timedOut: boolean;
  provider: string;
  model: string;
}

/**
 * An account out of money, not a busy server: OpenAI answers 429 `insufficient_quota`, Anthropic 400/402
 * "credit balance is too low", Gemini 429 with a quota limit of 0 or 400/403 about billing. Waiting does not help.
 */
function isQuotaExhausted(status: number, e: { code?: unknown; error?: unknown }, raw: string): boolean {
  const body = e.error as { code?: unknown; type?: unknown; error?: { type?: unknown } } | undefined;
  const code = e.code ?? body?.code ?? body?.type;
  if (code === 'insufficient_quota' || /insufficient_quota/.test(raw)) return true;
  if (status === 402) return true;
  if ((status === 400 || status === 403) && /credit balance is too low|billing/i.test(raw)) return true;
  // Gemini's ordinary per-minute 429 also says "check your plan and billing details"; only a quota whose
  // limit is 0 (a free tier turned off, a project without billing) is an empty account.
  if (status === 429 && /limit:\s*0\b/.test(raw)) return true;
  return false;
}

/** Classifies an SDK/transport error. Never includes request content or credentials. */
export function classify(err: unknown, ctx: ErrorContext): LlmError {
  if (err instanceof LlmError) return err;
  const e = err as { status?: unknown; headers?: unknown; message?: unknown; name?: unknown; code?: unknown };
  const raw = typeof e?.message === 'string' ? e.message : String(err);
  const where = `${ctx.provider} ${ctx.model}`;
  const msg = (m: string) => redact(`${where}: ${m}`, ctx.secrets).slice(0, 500);
  if (ctx.timedOut) return new LlmError('timeout', msg('request timed out'), true);
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status === undefined) {
    if (e?.name === 'AbortError' || e?.name === 'APIUserAbortError')
      return new LlmError('other', msg('aborted'), false);
    // connection refused / reset, unparsable body: transient from our side
    return new LlmError('server-error', msg(`connection or protocol error: ${raw}`), true);
  }
  const wait = retryAfterMs(e.headers, raw);
  if (isQuotaExhausted(status, e, raw))
    return new LlmError(
      'quota',
      msg(`${status} quota exhausted: the account has no credit or quota left (check billing): ${raw}`),
      false,
      status,
    );
  if (status === 429)
    return new LlmError('rate-limited', msg(`429 rate limited: ${raw}`), true, status, wait);
  if (status === 408 || status === 504)
    return new LlmError('timeout', msg(`${status}: ${raw}`), true, status, wait);
  if (status >= 500 || status === 409)
    return new LlmError('server-error', msg(`${status}: ${raw}`), true, status, wait);
  if (status === 401 || status === 403)
    return new LlmError(
      'other',
      msg(`${status} authentication failed (check the API key variable)`),
      false,
      status,
    );
  return new LlmError('other', msg(`${status}: ${raw}`), false, status);
}

/**
 * For activities: an LlmError as a Temporal ApplicationFailure of type `LlmError:<reason>`, non-retryable
 * when retrying cannot help (bad key, bad request, budget, refusal). Anything else is returned unchanged.
 */
export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof LlmError)) return err;
  return ApplicationFailure.create({
    type: `LlmError:${err.reason}`,
    message: err.message,
    nonRetryable: !err.retryable,
    details: [{ reason: err.reason, status: err.status ?? null }],
  });
}

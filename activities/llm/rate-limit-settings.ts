// Deployment rate limits per model, from the worker environment: LLAMADUO_RATE_LIMITS holds YAML or JSON
// (inline when it starts with `{`, otherwise the path of a file) keyed by `provider/model`:
//
//   openai/gpt-4o: { rpm: 5000, tpm: 800000, maxConcurrency: 64 }
//   anthropic/claude-sonnet-4-5: { rpm: 1000, tpm: 400000 }
//   openai/gpt-4o-mini: { rpm: 5000, headroom: 0.95, burstSeconds: 0.2 }   # pacing shape, see pacing.ts
//
// Precedence for a model: the deployment setting, else the provider's conservative default
// (PROVIDER_LIMITS). A migration config's rpm/tpm/concurrency may only lower a deployment setting; where the
// deployment sets nothing it replaces the provider default (a single-user worker without settings).
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { ServiceModel } from '../../common/config';
import { PROVIDER_LIMITS, type Limits } from './limiter';

const ModelLimits = z
  .object({
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    maxConcurrency: z.number().int().positive().max(4096).optional(),
    /** share of rpm/tpm the limiter paces at (default 0.96): lower trades throughput for margin */
    headroom: z.number().gt(0).max(1).optional(),
    /** bucket size in seconds of quota (default 0.1), bounded by the window: the most let go at once */
    burstSeconds: z.number().positive().max(60).optional(),
    /** the window (default 10 s) no share of which any window may exceed */
    windowSeconds: z.number().positive().max(60).optional(),
  })
  .strict();
export type ModelLimits = z.infer<typeof ModelLimits>;

const Settings = z.record(
  z.string().regex(/^[a-z-]+\/.+$/, 'keys are provider/model, e.g. openai/gpt-4o'),
  ModelLimits,
);

/** Limits per `provider/model`. */
export type DeploymentLimits = Record<string, ModelLimits>;

/** Parses LLAMADUO_RATE_LIMITS; errors name the source, line and field. */
export function parseRateLimits(value: string | undefined): DeploymentLimits {
  if (!value || !value.trim()) return {};
  const inline = value.trim().startsWith('{');
  const source = inline ? 'LLAMADUO_RATE_LIMITS' : value;
  let text: string;
  try {
    text = inline ? value : readFileSync(value, 'utf8');
  } catch (err) {
    throw new Error(`LLAMADUO_RATE_LIMITS: cannot read ${value}: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new Error(`${source}:${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const r = Settings.safeParse(doc.toJS());
  if (!r.success) {
    const i = r.error.issues[0]!;
    const node = doc.getIn(i.path as (string | number)[], true) as { range?: [number] } | undefined;
    const keyNode = i.path.length > 0 ? (doc.getIn(i.path.slice(0, -1) as string[], true) as never) : null;
    const at = node?.range ?? (keyNode as { range?: [number] } | null)?.range;
    const line = at ? lines.linePos(at[0]).line : '?';
    throw new Error(`${source}:${line}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  return r.data;
}

/** The limits a model runs under (see the precedence at the top of this file). */
export function resolveLimits(
  model: ServiceModel,
  settings: DeploymentLimits,
  overrides: Partial<Limits> = {},
): Limits {
  const d = PROVIDER_LIMITS[model.provider];
  const set = settings[`${model.provider}/${model.model}`];
  const pick = (deployed: number | undefined, configured: number | undefined, fallback: number) =>
    deployed !== undefined ? Math.min(deployed, configured ?? deployed) : (configured ?? fallback);
  return {
    ...d,
    ...overrides,
    ...(set?.headroom !== undefined ? { headroom: set.headroom } : {}),
    ...(set?.burstSeconds !== undefined ? { burstSeconds: set.burstSeconds } : {}),
    ...(set?.windowSeconds !== undefined ? { windowSeconds: set.windowSeconds } : {}),
    rpm: pick(set?.rpm, model.rpm, overrides.rpm ?? d.rpm),
    tpm: pick(set?.tpm, model.tpm, overrides.tpm ?? d.tpm),
    maxConcurrency: pick(
      set?.maxConcurrency,
      model.concurrency,
      overrides.maxConcurrency ?? d.maxConcurrency,
    ),
  };
}

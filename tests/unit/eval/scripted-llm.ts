// A small in-test LlmClient that honours the LlmClient contract: structured answers are parsed and validated
// against the caller's schema, and retried (up to maxAttempts) before failing as 'invalid-output'. What the
// "model" says is scripted by the test. Every judge prompt must hold a well-formed material block.
import type { z } from 'zod';
import { parseJudgePrompt } from '../../../activities/eval/judge-prompts';
import type {
  LlmClient,
  LlmFailureReason,
  LlmRequest,
  LlmText,
  StructuredResult,
} from '../../../activities/llm/client';
import type { ServiceModel } from '../../../common/config';
import type { Usage } from '../../../common/types';

export interface JudgeTurn {
  model: ServiceModel;
  schemaName: string;
  material: Record<string, string>;
  /** the evaluator's text around the material block */
  outside: string;
  system: string;
  attempt: number;
  /** how many times this exact (model, prompt) was asked before: the repeat index in practice */
  seen: number;
}

export interface ScriptedLlmOptions {
  teacher?: (prompt: string) => string;
  /** raw text the judge answers (may be invalid on purpose), or a failure the client gave up on */
  judge: (turn: JudgeTurn) => string | { fail: LlmFailureReason };
  maxAttempts?: number;
}

const tokens = (s: string) => Math.ceil(s.length / 4);

function usageOf(input: string, output: string, calls = 1): Usage {
  const inputTokens = tokens(input);
  const outputTokens = tokens(output);
  return {
    calls,
    inputTokens,
    outputTokens,
    cachedTokens: 0,
    usd: (inputTokens * 5 + outputTokens * 15) / 1e6,
  };
}

export class ScriptedLlm implements LlmClient {
  generateCalls = 0;
  structuredCalls = 0;
  private seen = new Map<string, number>();

  constructor(private readonly opts: ScriptedLlmOptions) {}

  async generate(req: LlmRequest): Promise<LlmText> {
    this.generateCalls++;
    const prompt = typeof req.prompt === 'string' ? req.prompt : req.prompt.map((m) => m.content).join('\n');
    if (!this.opts.teacher) throw new Error('no teacher scripted');
    const text = this.opts.teacher(prompt);
    return { text, usage: usageOf(prompt, text) };
  }

  async generateStructured<T>(
    req: LlmRequest,
    schema: z.ZodType<T>,
    opts: { name: string },
  ): Promise<StructuredResult<T>> {
    this.structuredCalls++;
    if (typeof req.prompt !== 'string') throw new Error('judge prompts are single user messages');
    const { material, outside } = parseJudgePrompt(req.prompt);
    const seenKey = `${req.model.provider}/${req.model.model}\n${req.prompt}`;
    const seen = this.seen.get(seenKey) ?? 0;
    this.seen.set(seenKey, seen + 1);
    const max = this.opts.maxAttempts ?? 3;
    let spent: Usage = { calls: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, usd: 0 };
    let lastError = '';
    for (let attempt = 1; attempt <= max; attempt++) {
      const raw = this.opts.judge({
        model: req.model,
        schemaName: opts.name,
        material,
        outside,
        system: req.system ?? '',
        attempt,
        seen,
      });
      if (typeof raw !== 'string')
        return {
          ok: false,
          reason: raw.fail,
          message: `scripted ${raw.fail}`,
          usage: spent,
          attempts: attempt,
        };
      const u = usageOf((req.system ?? '') + req.prompt, raw);
      spent = {
        ...u,
        calls: spent.calls + 1,
        inputTokens: spent.inputTokens + u.inputTokens,
        outputTokens: spent.outputTokens + u.outputTokens,
        usd: spent.usd + u.usd,
      };
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (err) {
        lastError = `not JSON: ${(err as Error).message}`;
        continue;
      }
      const parsed = schema.safeParse(json);
      if (parsed.success) return { ok: true, value: parsed.data, usage: spent, attempts: attempt };
      lastError = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    }
    return { ok: false, reason: 'invalid-output', message: lastError, usage: spent, attempts: max };
  }
}

/** Token-set F1 of two texts, 0..1: the scripted judges' notion of "close to". */
export function overlapF1(a: string, b: string): number {
  const words = (s: string) => new Set(s.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  const x = words(a);
  const y = words(b);
  if (x.size === 0 || y.size === 0) return 0;
  let both = 0;
  for (const w of x) if (y.has(w)) both++;
  if (both === 0) return 0;
  const p = both / x.size;
  const r = both / y.size;
  return (2 * p * r) / (p + r);
}

// An in-test LlmClient for synthesis tests (the real clients and provider servers are tested elsewhere):
// it answers each synthesis request with unused real dolly records of the seed's category, so curation
// sees realistic, distinct text; scripted requests instead echo the seed, refuse, or fail.
import type { z } from 'zod';
import type { LlmClient, LlmRequest, LlmText, StructuredResult } from '../../../activities/llm/client';
import type { CoverageRecord } from '../../../activities/data/curation/records';
import type { Usage } from '../../../common/types';

export type Script =
  | 'normal'
  | 'copy-seed'
  | 'refuse'
  | 'invalid'
  | 'crash'
  | 'rate-limited'
  | 'quota'
  /** waits until the request is aborted, then throws the abort reason (as the real client does) */
  | 'hang'
  /** answers normally after 200 ms */
  | 'slow';

const USAGE: Usage = { calls: 1, inputTokens: 400, outputTokens: 600, cachedTokens: 0, usd: 0.01 };

export class InTestTeacher implements LlmClient {
  calls = 0;
  private readonly pools = new Map<string, CoverageRecord[]>();

  constructor(
    pool: readonly CoverageRecord[],
    private readonly script: (call: number) => Script = () => 'normal',
  ) {
    for (const r of pool) {
      const list = this.pools.get(r.category) ?? [];
      list.push(r);
      this.pools.set(r.category, list);
    }
  }

  async generate(): Promise<LlmText> {
    throw new Error('synthesis only uses generateStructured');
  }

  async generateStructured<T>(req: LlmRequest, schema: z.ZodType<T>): Promise<StructuredResult<T>> {
    const call = this.calls++;
    const prompt = typeof req.prompt === 'string' ? req.prompt : req.prompt.map((m) => m.content).join('\n');
    const category = /^Task category: (.+)$/m.exec(prompt)![1]!;
    const count = Number(/Write (\d+) new, different examples/.exec(prompt)![1]);
    const seed = JSON.parse(prompt.slice(prompt.indexOf('{'), prompt.indexOf('\n}') + 2)) as Record<
      string,
      string
    >;
    const kind = this.script(call);
    if (kind === 'crash') throw new Error('worker lost');
    if (kind === 'slow') await new Promise((r) => setTimeout(r, 200));
    if (kind === 'hang')
      await new Promise<never>((_, reject) => {
        if (req.signal?.aborted) return reject(req.signal.reason);
        req.signal?.addEventListener('abort', () => reject(req.signal!.reason), { once: true });
      });
    if (kind === 'rate-limited' || kind === 'quota')
      return {
        ok: false,
        reason: kind,
        message: `teacher: ${kind}`,
        usage: { ...USAGE, calls: 0, usd: 0 },
        attempts: 1,
      };
    if (kind === 'invalid')
      return { ok: false, reason: 'invalid-output', message: 'not JSON', usage: USAGE, attempts: 3 };
    let examples: { instruction: string; context: string; response: string }[];
    if (kind === 'copy-seed')
      examples = Array.from({ length: count }, () => ({
        instruction: seed.instruction!,
        context: seed.context!,
        response: seed.response!,
      }));
    else if (kind === 'refuse')
      examples = [
        {
          instruction: 'Tell me something.',
          context: '',
          response: "I'm sorry, but as an AI language model I cannot help with that.",
        },
      ];
    else {
      const pool = this.pools.get(category) ?? [];
      examples = pool
        .splice(0, count)
        .map((r) => ({ instruction: r.instruction, context: r.context, response: r.response }));
    }
    const value = schema.parse({ examples });
    return { ok: true, value, usage: USAGE, attempts: 1 };
  }
}

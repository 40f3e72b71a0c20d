// An evaluation run against the three local provider servers (OpenAI, Anthropic, Gemini wire protocols) through
// the real SDK clients and the real eval activities, on real Dolly closed_qa records, with injected faults.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEvalActivities } from '../../activities/eval/eval-activities';
import { parseJudgePrompt } from '../../activities/eval/judge-prompts';
import type { JudgmentRecord } from '../../activities/eval/judgment-record';
import { renderJudgeTable } from '../../activities/eval/render-table';
import { estimateUsd } from '../../activities/llm/client-registry';
import { createLlmClient } from '../../activities/llm/factory';
import { LimiterRegistry } from '../../activities/llm/limiter';
import { costUsd, priceOf } from '../../activities/llm/pricing';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { EvaluationConfig, type ServiceModel } from '../../common/config';
import type { EvaluatePlanInput, EvaluationSummary, Usage } from '../../common/types';
import {
  startAnthropicServer,
  startGeminiServer,
  startOpenAiServer,
  type ServedRequest,
  type StartedServer,
} from '../servers/index';
import { dollyClosedQa } from '../unit/eval/dolly-fixture';
import { overlapF1 } from '../unit/eval/scripted-llm';

const KEY = 'sk-local-eval-test';
const PROMPTS = 12;
const tests = dollyClosedQa(PROMPTS);
/** The Gemini judge answers every single-answer grade of this prompt out of range: always a failed call. */
const BROKEN_FOR_GOOGLE = tests[0]!.id;
type Provider = 'openai' | 'anthropic' | 'google';

function respond(req: ServedRequest): string {
  const user = req.messages.find((m) => m.role === 'user')!.content;
  if (!req.schema) return tests.find((t) => user.startsWith(t.instruction))!.response;
  const { material: m } = parseJudgePrompt(user);
  if (m.response_a !== undefined) {
    const a = overlapF1(m.response_a, m.reference_response!);
    const b = overlapF1(m.response_b!, m.reference_response!);
    const verdict = Math.abs(a - b) < 0.05 ? 'tie' : a > b ? 'A' : 'B';
    return JSON.stringify({ rationale: `A=${a.toFixed(2)} B=${b.toFixed(2)}`, verdict });
  }
  const promptId = tests.find((t) => t.instruction === m.instruction)?.id;
  const f = overlapF1(m.response!, m.reference_response!);
  const bias = { openai: 0, anthropic: 5, google: -3 }[req.provider];
  const clamp = (x: number) => Math.max(0, Math.min(100, Math.round(x)));
  const similarity =
    req.provider === 'google' && promptId === BROKEN_FOR_GOOGLE ? 150 : clamp(100 * f + bias);
  return JSON.stringify({
    similarity_assessment: { score: similarity, rationale: 'overlap with the reference' },
    precision_assessment: { score: clamp(100 * Math.sqrt(f) + bias), rationale: 'answers the question' },
  });
}

const FAULTS = { rate429: 0.03, rate5xx: 0.02, rateMalformed: 0.03 };

describe('evaluation against the three provider servers (real SDKs, real eval activities)', () => {
  let dir: string;
  let servers: Record<Provider, StartedServer>;
  let judges: ServiceModel[];
  let teacherSummary: EvaluationSummary;
  let studentSummary: EvaluationSummary;
  const activityUsage: Usage[] = [];
  let teacherUsage: Usage;
  let teacherFailed: number;
  const records: JudgmentRecord[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-eval-e2e-'));
    // timeScale 4: an injected 429 asks for 250 ms instead of 1 s.
    const opts = (seed: number) => ({ apiKey: KEY, respond, faults: FAULTS, seed, timeScale: 4 });
    servers = {
      openai: await startOpenAiServer(opts(1)),
      anthropic: await startAnthropicServer(opts(2)),
      google: await startGeminiServer(opts(3)),
    };
    const common = { batch: false, rpm: 60_000, tpm: 100_000_000 };
    judges = [
      { provider: 'openai', model: 'gpt-4o', baseURL: `${servers.openai.url}/v1`, ...common },
      { provider: 'anthropic', model: 'claude-3-sonnet-20240229', baseURL: servers.anthropic.url, ...common },
      { provider: 'google', model: 'gemini-1.5-flash', baseURL: servers.google.url, ...common },
    ];
    const env = { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: KEY };
    const limiters = new LimiterRegistry();
    const clients = new Map(
      judges.map((m) => [
        m.provider,
        createLlmClient({
          model: m,
          env,
          limiters,
          tuning: { backoffMs: 10, maxBackoffMs: 50, timeoutMs: 10_000 },
        }),
      ]),
    );
    const store = new LocalArtifactStore(dir);
    const acts = createEvalActivities({ store, llm: (m) => clients.get(m.provider)!, estimateUsd });
    const evaluation = EvaluationConfig.parse({ judges, repeats: 3, judgeCallsPerShard: 100 });
    const test = await store.writeJsonl('e2e/data/test.jsonl', tests);
    const teacher = await acts.teacherBaseline({
      migrationId: 'e2e',
      test,
      teacher: judges[0]!,
      responsesPerPrompt: 1,
    });
    teacherUsage = teacher.usage;
    teacherFailed = teacher.failed ?? 0;
    // The student: the reference answer, then shorter and shorter prefixes of it.
    const student = await store.writeJsonl(
      'e2e/cycle-1/generations.jsonl',
      tests.flatMap((t) =>
        [0, 1, 2].map((sample) => {
          const w = t.response.split(/\s+/);
          return { promptId: t.id, sample, text: w.slice(0, Math.ceil(w.length / (sample + 1))).join(' ') };
        }),
      ),
    );
    const run = async (input: EvaluatePlanInput) => {
      const plan = await acts.planEvaluation(input);
      const outs = [];
      for (let shard = 0; shard < plan.shards; shard++)
        outs.push(await acts.judgeShard({ ...input, shard, shards: plan.shards }));
      activityUsage.push(...outs.map((o) => o.usage));
      const mine: JudgmentRecord[] = [];
      for (const o of outs) mine.push(...(await store.readAllJsonl<JudgmentRecord>(o.judgments.uri)));
      records.push(...mine);
      // the activities' failed counts are the failed records they wrote
      assert.equal(
        outs.reduce((n, o) => n + o.failed, 0),
        mine.filter((r) => r.error).length,
      );
      return (await acts.summarizeEvaluation({ ...input, shardOutputs: outs.map((o) => o.judgments) }))
        .summary;
    };
    teacherSummary = await run({
      migrationId: 'e2e',
      cycle: 0,
      subject: 'teacher',
      test,
      generations: teacher.generations,
      evaluation: { ...evaluation, pairwise: false },
    });
    studentSummary = await run({
      migrationId: 'e2e',
      cycle: 1,
      subject: 'student',
      test,
      generations: student,
      reference: teacher.generations,
      evaluation,
    });
  });

  after(async () => {
    await Promise.all(Object.values(servers ?? {}).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the per-judge table: one row per judge plus all, the teacher row and the matching ratio', () => {
    const table = renderJudgeTable(
      [
        { label: 'gpt-4o (teacher)', summary: teacherSummary, target: true },
        { label: 'student cycle 1', summary: studentSummary },
      ],
      { thresholds: [50, 70] },
    );
    console.log(table);
    for (const s of [teacherSummary, studentSummary])
      assert.deepEqual(
        s.judges.map((j) => j.judge),
        [...judges.map((j) => `${j.provider}/${j.model}`), 'all'],
      );
    const header = table.split('\n').find((l) => l.startsWith('| model |'))!;
    for (const j of judges) {
      assert.ok(header.includes(`${j.provider}/${j.model} precision`), header);
      assert.ok(header.includes(`${j.provider}/${j.model} similarity`), header);
    }
    assert.ok(header.includes('all judges precision'));
    assert.ok(table.includes('| gpt-4o (teacher) (target) |'));
    const match = table.split('\n').find((l) => l.startsWith('| ↳ matching student cycle 1 |'));
    assert.ok(match, 'a matching row under the student');
    // student / teacher of the openai precision mean, as printed
    const sp = studentSummary.judges[0]!.precision.mean;
    const tp = teacherSummary.judges[0]!.precision.mean;
    assert.ok(match.includes(`${((100 * sp) / tp).toFixed(1)}%`), match);
    assert.ok(sp < tp, 'truncated answers score below the reference answers');
    // pairwise: the teacher (the full reference answer) wins against truncated student answers
    const all = studentSummary.judges.at(-1)!.pairwise!;
    assert.ok(all.loss > all.win, JSON.stringify(all));
  });

  it('reports the spend the servers billed, per provider', () => {
    const byJudge = (p: Provider) => {
      const id = `${judges.find((j) => j.provider === p)!.provider}/${judges.find((j) => j.provider === p)!.model}`;
      const mine = records.filter((r) => r.judge === id);
      return {
        replies: mine.reduce((n, r) => n + r.attempts, 0),
        input: mine.reduce((n, r) => n + r.tokens.input, 0),
        output: mine.reduce((n, r) => n + r.tokens.output, 0),
        cached: mine.reduce((n, r) => n + r.tokens.cached, 0),
        usd: mine.reduce((n, r) => n + r.cost, 0),
      };
    };
    let activityUsd = teacherUsage.usd + activityUsage.reduce((n, u) => n + u.usd, 0);
    let billedUsd = 0;
    let replies = 0;
    for (const p of ['openai', 'anthropic', 'google'] as const) {
      const got = byJudge(p);
      if (p === 'openai') {
        got.replies += teacherUsage.calls;
        got.input += teacherUsage.inputTokens;
        got.output += teacherUsage.outputTokens;
        got.cached += teacherUsage.cachedTokens;
        got.usd += teacherUsage.usd;
      }
      const s = servers[p].stats;
      assert.equal(got.replies, s.ok, `${p}: replies billed`);
      assert.equal(got.input, s.billedInputTokens, `${p}: input tokens`);
      assert.equal(got.output, s.billedOutputTokens, `${p}: output tokens`);
      assert.equal(got.cached, s.billedCachedTokens, `${p}: cached tokens`);
      const billed = costUsd(priceOf(judges.find((j) => j.provider === p)!), {
        inputTokens: s.billedInputTokens,
        outputTokens: s.billedOutputTokens,
        cachedTokens: s.billedCachedTokens,
      });
      // Each reply is priced and rounded to a micro-dollar on its own, as the providers bill it.
      assert.ok(Math.abs(got.usd - billed) <= s.ok * 0.5e-6 + 1e-9, `${p}: ${got.usd} vs ${billed}`);
      billedUsd += billed;
      replies += s.ok;
    }
    activityUsd = Math.round(activityUsd * 1e6) / 1e6;
    assert.ok(activityUsd > 0);
    assert.ok(Math.abs(activityUsd - billedUsd) <= replies * 0.5e-6 + 1e-6, `${activityUsd} vs ${billedUsd}`);
    console.log(
      `spend: activities $${activityUsd.toFixed(6)}, servers billed $${billedUsd.toFixed(6)} over ${replies} replies`,
    );
  });

  it('counts failed judge calls and leaves them out of the scores instead of scoring them 0', () => {
    const google = `google/${judges[2]!.model}`;
    for (const [summary, samples] of [
      [teacherSummary, 1],
      [studentSummary, 3],
    ] as const) {
      const row = summary.judges.find((j) => j.judge === google)!;
      assert.ok(row.failed >= 3 * samples, `google failed ${row.failed}`);
      assert.equal(row.failedSamples, samples, 'the broken prompt is unscored, not zero');
      assert.equal(row.similarity.samples, (summary === teacherSummary ? 1 : 3) * (PROMPTS - 1));
    }
    const googleSingles = records.filter((r) => r.judge === google && r.kind === 'single');
    const broken = googleSingles.filter((r) => r.promptId === BROKEN_FOR_GOOGLE);
    assert.ok(
      broken.length > 0 && broken.every((r) => r.error?.reason === 'invalid-output' && r.scores === null),
    );
    assert.ok(
      broken.every((r) => r.attempts === 3),
      'each failed call was asked again with the error fed back',
    );
    const failedAll = records.filter((r) => r.error).length;
    const reported = teacherSummary.judges.at(-1)!.failed + studentSummary.judges.at(-1)!.failed;
    assert.equal(reported, failedAll);
  });

  it('honours 429s: the servers sent them, and no item failed from rate limiting', () => {
    for (const p of ['openai', 'anthropic', 'google'] as const) {
      const s = servers[p].stats;
      console.log(
        `${p}: ${JSON.stringify({ requests: s.requests, ok: s.ok, got429: s.got429, got5xx: s.got5xx, malformed: s.malformed })}`,
      );
      assert.ok(s.got429 > 0, `${p} sent no 429`);
      assert.ok(s.got5xx > 0, `${p} sent no 5xx`);
      assert.equal(s.unauthorized, 0);
    }
    assert.equal(teacherFailed, 0);
    const reasons = records.filter((r) => r.error).map((r) => r.error!.reason);
    assert.ok(!reasons.includes('rate-limited') && !reasons.includes('server-error'), reasons.join(','));
  });
});

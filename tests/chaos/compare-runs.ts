// What the chaos run compares between the fault-free run and the faulted one, beyond the datasets: every
// generations file (teacher, base student, each cycle), every evaluation's judgments and per-sample scores,
// each cycle's score and evaluation summary, and each cycle's continue/stop decision with its reason.
// Judgments are compared on what the judge said (kind, judge, repeat, prompt, sample, order, scores,
// verdict, rationale, failure reason), not on what the call cost: a faulted call that is retried uses more
// tokens and attempts for the same answer.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MigrationResult } from '../../common/progress';
import type { JudgmentRecord } from '../../activities/eval/judgment-record';
import { LocalArtifactStore } from '../../activities/store/local-store';

export interface Comparison {
  what: string;
  items: number;
  differing: string[];
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function said(r: JudgmentRecord): unknown {
  return [
    r.kind,
    r.judge,
    r.repeat,
    r.promptId,
    r.sample,
    r.order ?? null,
    r.referenceSample ?? null,
    r.scores ?? null,
    r.verdict ?? null,
    r.rationale,
    r.error?.reason ?? null,
  ];
}

function rows<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/** Files of both stores whose key matches, compared by `digest` of their content. */
async function compareFiles(
  what: string,
  calm: LocalArtifactStore,
  chaos: LocalArtifactStore,
  match: RegExp,
  digest: (file: string) => string,
  migrationId: string,
): Promise<Comparison> {
  const keys = new Set(
    [...(await calm.list(migrationId)), ...(await chaos.list(migrationId))].filter((k) =>
      match.test(k.split(path.sep).join('/')),
    ),
  );
  const differing: string[] = [];
  for (const key of keys) {
    const a = (await calm.isFile(key)) ? digest(calm.path(key)) : 'missing';
    const b = (await chaos.isFile(key)) ? digest(chaos.path(key)) : 'missing';
    if (a !== b) differing.push(`${key}${b === 'missing' ? ' (missing under faults)' : ''}`);
  }
  return { what, items: keys.size, differing };
}

export async function compareRuns(
  calmRoot: string,
  calmResult: MigrationResult,
  chaosRoot: string,
  chaosResult: MigrationResult,
): Promise<Comparison[]> {
  const id = calmResult.migrationId;
  const calm = new LocalArtifactStore(calmRoot);
  const chaos = new LocalArtifactStore(chaosRoot);
  const out: Comparison[] = [];
  out.push(
    await compareFiles(
      'generations files (teacher, base student, every cycle)',
      calm,
      chaos,
      /generations\.jsonl$/,
      (f) => sha(readFileSync(f, 'utf8')),
      id,
    ),
  );
  out.push(
    await compareFiles(
      "judgments (every evaluation's merged file, what the judge said)",
      calm,
      chaos,
      /\/eval\/[^/]+\/judgments\.jsonl$/,
      (f) => sha(JSON.stringify(rows<JudgmentRecord>(f).map(said))),
      id,
    ),
  );
  out.push(
    await compareFiles(
      'per-sample scores (every evaluation)',
      calm,
      chaos,
      /per-sample\.jsonl$/,
      (f) => sha(readFileSync(f, 'utf8')),
      id,
    ),
  );
  const cycleScores = (r: MigrationResult) =>
    r.cycles.map((c) =>
      JSON.stringify({ cycle: c.cycle, score: c.score, reached: c.reached, evaluation: c.evaluation }),
    );
  const a = cycleScores(calmResult);
  const b = cycleScores(chaosResult);
  out.push({
    what: 'cycle scores and evaluation summaries (and the teacher row)',
    items: Math.max(a.length, b.length) + 1,
    differing: [
      ...a.flatMap((s, i) => (s === b[i] ? [] : [`cycle ${i}`])),
      ...(b.length > a.length ? [`${b.length - a.length} extra cycle(s)`] : []),
      ...(JSON.stringify(calmResult.teacher) === JSON.stringify(chaosResult.teacher) ? [] : ['teacher']),
    ],
  });
  const decisions = (r: MigrationResult) =>
    r.decisions.map((d) =>
      JSON.stringify({ cycle: d.cycle, outcome: d.outcome, reason: d.reason, score: d.score }),
    );
  const da = decisions(calmResult);
  const db = decisions(chaosResult);
  out.push({
    what: 'decisions (per cycle: continue/stop and its reason)',
    items: Math.max(da.length, db.length),
    differing: da.flatMap((d, i) => (d === db[i] ? [] : [`cycle ${i}: ${d} vs ${db[i] ?? 'none'}`])),
  });
  if (calmResult.status !== chaosResult.status)
    out.push({
      what: 'final status',
      items: 1,
      differing: [`${calmResult.status} vs ${chaosResult.status}`],
    });
  return out;
}

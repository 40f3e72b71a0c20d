// Renders a migration's progress for a terminal: one bar per stage of the current cycle, scores, spend.
import type { RetryingActivity } from '../client/retrying';
import type { ExportRecord, Progress } from '../common/progress';
import type { EvaluationSummary } from '../common/types';

/** The workflow's stages, with the base student's measurement (its generate and evaluate) as a row of its own. */
const STAGES = [
  'ingest',
  'teacher-baseline',
  'base-student',
  'fine-tune',
  'generate',
  'evaluate',
  'decide',
  'synthesize',
  'promote',
  'export',
  'done',
] as const;

export function bar(done: number, total: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.round(frac * 100)).padStart(3)}%`;
}

function currentRow(p: Progress): number {
  return STAGES.indexOf(p.baseStudent ? 'base-student' : (p.stage as (typeof STAGES)[number]));
}

/** One line for an activity the server is retrying, so a slow stage does not look stuck. */
function retryLine(a: RetryingActivity): string {
  return `retrying ${a.activity}: attempt ${a.attempt}${a.lastFailure ? `, last failure: ${a.lastFailure}` : ''}`;
}

export function renderProgress(p: Progress, retrying: readonly RetryingActivity[] = []): string {
  const lines: string[] = [];
  const target = p.cycles.at(-1)?.target ?? p.target.atLeast;
  lines.push(
    `migration ${p.migrationId}  status ${p.status}  cycle ${p.cycle + 1}/${p.maxCycles}  run ${p.runs}`,
  );
  lines.push(`cycles     ${bar(p.cycles.length, p.maxCycles)}  ${p.cycles.length} evaluated`);
  const current = currentRow(p);
  for (const [i, s] of STAGES.entries()) {
    // promote and export are rows only while they run: most configs ask for neither
    if (s === 'done' || ((s === 'promote' || s === 'export') && p.stage !== s)) continue;
    if ((s === 'ingest' || s === 'teacher-baseline' || s === 'base-student') && p.cycle > 0) continue;
    // runs from before the base student was measured never have that row
    if (s === 'base-student' && !p.baseStudent && !p.base && i < current) continue;
    // the base student's stage row names the step it is in (generate, evaluate), not "base student"
    const detail = p.baseStudent
      ? `${p.stage}${p.shardsTotal > 0 ? ` ${p.stageDetail}` : ''}`
      : p.stageDetail;
    let state: string;
    if (i < current || p.stage === 'done') state = bar(1, 1);
    else if (i === current)
      state = p.shardsTotal > 0 ? bar(p.shardsDone, p.shardsTotal) : `[${p.status}] ${detail}`.trimEnd();
    else state = bar(0, 1);
    lines.push(`${s.padEnd(17)}${state}${i === current && p.shardsTotal > 0 ? `  ${detail}` : ''}`);
  }
  for (const a of retrying) lines.push(`  ${retryLine(a)}`);
  const ref = (e: EvaluationSummary) =>
    e.reference ? `  ${e.reference.metric} ${e.reference.mean.toFixed(1)}` : '';
  if (p.base) lines.push(`  base (no adapter): score ${p.base.score.toFixed(1)}${ref(p.base.evaluation)}`);
  for (const c of p.cycles) {
    lines.push(
      `  cycle ${c.cycle}: score ${c.score.toFixed(1)} / target ${c.target.toFixed(1)}${ref(c.evaluation)}  ${c.trainSamples} samples (${c.syntheticSamples} synthetic)${c.reached ? '  reached' : ''}`,
    );
  }
  const synth = p.syntheses.at(-1);
  if (synth) {
    const drops = Object.entries(synth.drops)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(
      `  synthesis for cycle ${synth.forCycle}: ${synth.accepted}/${synth.wanted} accepted of ${synth.generated} generated${drops ? ` (dropped: ${drops})` : ''}`,
    );
  }
  lines.push(
    `spend      ${bar(p.spend.total.usd, p.budgetUsd)}  $${p.spend.total.usd.toFixed(2)} of $${p.budgetUsd.toFixed(2)}  ${p.spend.total.calls} LLM calls`,
  );
  if (target !== undefined && p.best)
    lines.push(`best       cycle ${p.best.cycle}: ${p.best.score.toFixed(1)}`);
  if (p.export) lines.push(exportLine(p.export));
  return lines.join('\n');
}

/** The best adapter's exports (config `export`): where they are, or that the export failed and why. */
function exportLine(e: ExportRecord): string {
  if (e.error) return `export     FAILED for cycle ${e.cycle}'s adapter: ${e.error}`;
  const parts = [
    e.merged && `merged ${e.merged.uri}`,
    e.gguf && `GGUF ${e.gguf.uri}`,
    !e.gguf && e.ggufSkipped && `no GGUF: ${e.ggufSkipped}`,
  ].filter(Boolean);
  return `export     cycle ${e.cycle}: ${parts.join(', ')}`;
}

/** One line for logs that are not a terminal: printed whenever it changes. */
export function progressLine(p: Progress, retrying: readonly RetryingActivity[] = []): string {
  const shards = p.shardsTotal > 0 ? ` ${p.shardsDone}/${p.shardsTotal}` : '';
  const detail = p.stageDetail ? ` (${p.stageDetail})` : '';
  const stage = p.baseStudent ? `base-student ${p.stage}` : p.stage;
  const last = p.cycles.at(-1);
  const score = last ? `  cycle ${last.cycle} score ${last.score.toFixed(1)}/${last.target.toFixed(1)}` : '';
  const retries = retrying.map((a) => `  ${retryLine(a)}`).join('');
  return `[${p.status}] cycle ${p.cycle + 1}/${p.maxCycles}  ${stage}${shards}${detail}${score}  $${p.spend.total.usd.toFixed(2)}/$${p.budgetUsd.toFixed(2)}${retries}`;
}

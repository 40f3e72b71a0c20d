// The state one run of the migration workflow works on, and the bookkeeping every stage shares: the current
// stage (for the progress query and the UI), spend accounting, and the search attributes that `llamaduo list`
// filters by. Carried across continue-as-new as MigrationState.
import { patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { pickBestCycle } from '../common/best-cycle';
import type { MigrationConfig } from '../common/config';
import type { ExportRecord, MigrationState, Progress, Spend } from '../common/progress';
import { addUsage, ZERO_USAGE, type MigrationStatus, type Stage, type Usage } from '../common/types';
import type { ActivityTuning } from './activity-proxies';
import { SA_BEST_SCORE, SA_CYCLE, SA_STATUS } from './search-attributes';
import { newSynthesisLink, type SynthesisLink } from './synthesis-child';
import { observeCycle, observeMigration, observeStage } from './observability';

export interface MigrationInput {
  /** prefix of every artifact key; defaults to the workflow id (scheduled runs get a fresh one each time) */
  migrationId?: string;
  /** parsed config (defaults applied); validated by the client before start */
  config: MigrationConfig;
  /** set by continue-as-new */
  state?: MigrationState;
  tuning?: ActivityTuning;
}

export type Best = Progress['best'];

/** Artifact keys allow letters, digits and . _ = - only. */
function artifactSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._=-]+/g, '-');
}

function initialState(config: MigrationConfig): MigrationState {
  return {
    ingest: undefined as never,
    teacher: null,
    cycle: 0,
    synthetic: [],
    syntheticCount: 0,
    cycles: [],
    syntheses: [],
    decisions: [],
    spend: { total: ZERO_USAGE, byStage: {}, byCycle: {} },
    target: config.target,
    maxUsd: config.budget.maxUsd,
    stopRequested: false,
    runs: 0,
  };
}

export class MigrationRun {
  readonly migrationId: string;
  readonly config: MigrationConfig;
  readonly tuning: ActivityTuning;
  /** true for the first run of a migration; continued runs carry their state */
  readonly isFirstRun: boolean;
  readonly state: MigrationState;
  status: MigrationStatus = 'running';
  stage: Stage = 'ingest';
  stageDetail = '';
  shardsDone = 0;
  shardsTotal = 0;
  /** set while generate/evaluate run for the base student; setStage clears it */
  baseStudent = false;
  /** the synthesis child while it runs, so budget changes and stops reach it */
  readonly synthesis: SynthesisLink = newSynthesisLink();
  /**
   * Whether ties on the judge score go to the reference metric, then the later cycle (common/best-cycle).
   * Runs recorded before that kept the first of tied cycles, and which adapter is promoted depends on it.
   * Read once here, in the workflow's own code, as best() also answers the progress query.
   */
  readonly bestByTiebreak: boolean;
  /** the best adapter's exports, set at the end of the run when the config asks for them */
  exported?: ExportRecord;

  constructor(readonly input: MigrationInput) {
    this.config = input.config;
    this.migrationId = input.migrationId ?? artifactSafe(workflowInfo().workflowId);
    this.tuning = input.tuning ?? {};
    this.isFirstRun = !input.state;
    this.state = input.state ?? initialState(input.config);
    this.state.runs++;
    observeMigration(this.migrationId, this.state.cycle);
    this.bestByTiebreak = patched('best-cycle-reference-tiebreak');
  }

  best(): Best {
    if (!this.bestByTiebreak)
      return this.state.cycles.reduce<Best>(
        (b, c) =>
          b === null || c.score > b.score ? { cycle: c.cycle, score: c.score, adapter: c.adapter } : b,
        null,
      );
    const c = pickBestCycle(this.state.cycles, (c) => ({
      cycle: c.cycle,
      score: c.score,
      reference: c.evaluation.reference?.mean,
    }));
    return c && { cycle: c.cycle, score: c.score, adapter: c.adapter };
  }

  progress(): Progress {
    const { state } = this;
    return {
      migrationId: this.migrationId,
      status: this.status,
      cycle: state.cycle,
      maxCycles: this.config.maxCycles,
      stage: this.stage,
      stageDetail: this.stageDetail,
      shardsDone: this.shardsDone,
      shardsTotal: this.shardsTotal,
      baseStudent: this.baseStudent,
      cycles: state.cycles,
      syntheses: state.syntheses,
      decisions: state.decisions,
      teacher: state.teacher?.evaluation ?? null,
      teacherJudgments: state.teacher?.judgments ?? null,
      base: state.base ?? null,
      ...(state.baselines?.length ? { baselines: state.baselines } : {}),
      spend: state.spend,
      budgetUsd: state.maxUsd,
      target: state.target,
      best: this.best(),
      ...(this.exported ? { export: this.exported } : {}),
      stopRequested: state.stopRequested,
      runs: state.runs,
    };
  }

  setStage(s: Stage, detail = ''): void {
    observeCycle(this.state.cycle);
    observeStage(s);
    this.stage = s;
    this.stageDetail = detail;
    this.shardsDone = 0;
    this.shardsTotal = 0;
    this.baseStudent = false;
    setCurrentDetails(`**cycle ${this.state.cycle}** · ${s}${detail ? ` · ${detail}` : ''}`);
  }

  /** progress callback of sharded stages */
  readonly onShard = (done: number, total: number): void => {
    this.shardsDone = done;
    this.shardsTotal = total;
    this.stageDetail = `shard ${done}/${total}`;
  };

  spend(stage: string, usage: Usage): void {
    const sp: Spend = this.state.spend;
    const cycle = String(this.state.cycle);
    sp.total = addUsage(sp.total, usage);
    sp.byStage[stage] = addUsage(sp.byStage[stage] ?? ZERO_USAGE, usage);
    sp.byCycle[cycle] = Math.round(((sp.byCycle[cycle] ?? 0) + usage.usd) * 1e6) / 1e6;
  }

  remainingUsd(): number {
    return this.state.maxUsd - this.state.spend.total.usd;
  }

  /** status, cycle and best score as search attributes */
  publish(): void {
    const b = this.best();
    upsertSearchAttributes([
      { key: SA_STATUS, value: this.status },
      { key: SA_CYCLE, value: this.state.cycle },
      ...(b ? [{ key: SA_BEST_SCORE, value: b.score }] : []),
    ]);
  }
}

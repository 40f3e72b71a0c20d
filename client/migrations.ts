// The typed client other services import: start, watch, stop, cancel and list migrations.
// Needs only a Temporal connection; the config is validated here, before anything is started.
import { randomBytes } from 'node:crypto';
import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { TASK_QUEUES } from '../common/activities';
import { MigrationConfig, type MigrationConfigInput, type TargetConfig } from '../common/config';
import type { MigrationResult, Progress } from '../common/progress';
import { migrationWorkflow, type MigrationInput } from '../workflows/migration-workflow';
import { progressQuery, setBudgetUpdate, setTargetUpdate, stopAfterCycleSignal } from '../workflows/messages';
import { SA_BASE_MODEL, SA_STATUS, SA_TEACHER } from '../workflows/search-attributes';
import { formatConfigIssues } from './config-errors';
import { retryingActivities, type RetryingActivity } from './retrying';
import { access } from 'node:fs/promises';
import { DatasetErrors } from '../activities/data/ingest/coverage-record';
import { loadCoverage, resolveDatasetPath } from '../activities/data/ingest/ingest-activity';
import type { ArtifactStore } from '../activities/store/artifact-store';
import { uploadLocalDataset } from './upload-dataset';

export class InvalidConfigError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string; line?: number }[],
  ) {
    super(message);
    this.name = 'InvalidConfigError';
  }
}

export interface StartOptions {
  /** workflow id; default `llamaduo-<name>-<time><random>` */
  workflowId?: string;
  taskQueue?: string;
  /** where the config came from, for error messages */
  source?: string;
  /** validate the coverage dataset before starting, when it is readable here (default true) */
  checkDataset?: boolean;
  /**
   * The workers' artifact store. When it is object storage and the dataset a local file, the file is
   * uploaded there first and the migration reads it from the store.
   */
  store?: ArtifactStore;
}

export interface MigrationSummary {
  workflowId: string;
  runId: string;
  status: string;
  llamaduoStatus?: string;
  startTime: Date;
  closeTime?: Date;
  baseModel?: string;
  teacher?: string;
}

/** Parses and validates a config object; throws InvalidConfigError naming each field. */
export function validateConfig(raw: unknown, source = 'config'): MigrationConfig {
  const r = MigrationConfig.safeParse(raw);
  if (r.success) return r.data;
  const issues = formatConfigIssues(r.error);
  throw new InvalidConfigError(
    `invalid migration config (${source}):\n${issues.map((i) => `  field '${i.path}': ${i.message}`).join('\n')}`,
    issues,
  );
}

/**
 * Checks the coverage dataset a config points at, when this machine can read it (the worker reads it
 * otherwise): parse, filter and split, writing nothing. Throws InvalidConfigError naming file, line and field.
 */
export async function checkDataset(config: MigrationConfig): Promise<{ train: number; test: number } | null> {
  const file = resolveDatasetPath(config.dataset.path);
  try {
    await access(file);
  } catch {
    return null;
  }
  try {
    const { split } = await loadCoverage(config);
    return { train: split.train.length, test: split.test.length };
  } catch (err) {
    if (!(err instanceof DatasetErrors)) throw err;
    throw new InvalidConfigError(
      err.message,
      err.errors.map((e) => ({
        path: e.field ?? 'dataset',
        message: `${e.file}${e.line !== null ? `:${e.line}` : ''}: ${e.problem}`,
        line: e.line ?? undefined,
      })),
    );
  }
}

export function newMigrationId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${name}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export class MigrationClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string = TASK_QUEUES.workflow,
  ) {}

  async startMigration(
    config: MigrationConfig | MigrationConfigInput,
    options: StartOptions = {},
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof migrationWorkflow>> {
    let parsed = validateConfig(config, options.source);
    if (options.checkDataset !== false) await checkDataset(parsed);
    if (options.store) parsed = await uploadLocalDataset(parsed, options.store);
    const migrationId = options.workflowId ?? `llamaduo-${newMigrationId(parsed.name)}`;
    const input: MigrationInput = { migrationId, config: parsed };
    try {
      return await this.client.workflow.start(migrationWorkflow, {
        taskQueue: options.taskQueue ?? this.taskQueue,
        workflowId: migrationId,
        // Artifacts (generations, adapters, shard outputs) are keyed by the id and reused when found: a new
        // migration under the id of a closed one would silently take over that one's results.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [input],
        typedSearchAttributes: [
          { key: SA_STATUS, value: 'running' },
          { key: SA_BASE_MODEL, value: parsed.baseModel },
          {
            key: SA_TEACHER,
            value: `${parsed.synthesis.teacher.provider}/${parsed.synthesis.teacher.model}`,
          },
        ],
        staticSummary: `migrate ${parsed.name} to ${parsed.baseModel}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new Error(
          `a migration with id ${migrationId} already exists (running or closed); ids are not reused, as its artifacts are keyed by it: pick another --id`,
          { cause: err },
        );
      throw err;
    }
  }

  handle(workflowId: string): WorkflowHandle<typeof migrationWorkflow> {
    return this.client.workflow.getHandle<typeof migrationWorkflow>(workflowId);
  }

  async getProgress(workflowId: string): Promise<Progress> {
    return this.handle(workflowId).query(progressQuery);
  }

  /** Activities of the migration's current run that the server is retrying (attempt > 1). */
  async retrying(workflowId: string): Promise<RetryingActivity[]> {
    const d = await this.handle(workflowId).describe();
    return retryingActivities(d.raw.pendingActivities);
  }

  async result(workflowId: string): Promise<MigrationResult> {
    return this.handle(workflowId).result();
  }

  /** Finish the running cycle, record its evaluation, then stop. */
  async stop(workflowId: string, reason = 'stopped by user'): Promise<void> {
    await this.handle(workflowId).signal(stopAfterCycleSignal, reason);
  }

  /** Cancel now: running activities are cancelled and their Kubernetes Jobs deleted. */
  async cancel(workflowId: string): Promise<void> {
    await this.handle(workflowId).cancel();
  }

  async setTarget(workflowId: string, target: TargetConfig): Promise<TargetConfig> {
    return this.handle(workflowId).executeUpdate(setTargetUpdate, { args: [target] });
  }

  async setBudget(workflowId: string, maxUsd: number): Promise<number> {
    return this.handle(workflowId).executeUpdate(setBudgetUpdate, { args: [maxUsd] });
  }

  /** Migrations, newest first; `query` is a Temporal visibility query (e.g. `LlamaduoStatus = "running"`). */
  async list(query?: string, limit = 50): Promise<MigrationSummary[]> {
    const base = `WorkflowType = 'migrationWorkflow' AND ExecutionStatus != 'ContinuedAsNew'`;
    const out: MigrationSummary[] = [];
    for await (const w of this.client.workflow.list({ query: query ? `${base} AND (${query})` : base })) {
      out.push({
        workflowId: w.workflowId,
        runId: w.runId,
        status: w.status.name,
        llamaduoStatus: w.typedSearchAttributes.get(SA_STATUS),
        startTime: w.startTime,
        closeTime: w.closeTime,
        baseModel: w.typedSearchAttributes.get(SA_BASE_MODEL),
        teacher: w.typedSearchAttributes.get(SA_TEACHER),
      });
      if (out.length >= limit) break;
    }
    return out;
  }
}

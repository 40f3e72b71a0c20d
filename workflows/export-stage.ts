// The exports of the migration's best adapter (config `export`): one GPU step once the best cycle is known,
// instead of merging every cycle's adapter (trainer.mergeWeights / exportGguf). A failed export is recorded in
// the result and the report and does not fail a migration whose training and evaluation are done.
import { isCancellation } from '@temporalio/workflow';
import type { ExportRecord } from '../common/progress';
import { activityProxies } from './activity-proxies';
import type { MigrationRun } from './migration-run';

/** Patch id: histories from before this step replay without it. */
export const EXPORT_BEST_PATCH = 'export-best-adapter';

/** Whether the config asks for any export of the best adapter. */
export function wantsExport(run: MigrationRun): boolean {
  const e = run.config.export;
  return !!e && (e.merged || e.gguf);
}

export async function exportBest(
  run: MigrationRun,
  best: { cycle: number; adapter: ExportRecord['adapter'] },
  rootMessage: (err: unknown) => string,
): Promise<ExportRecord> {
  const { config, migrationId } = run;
  const wanted = config.export!;
  const what = [wanted.merged || wanted.gguf ? 'merged' : '', wanted.gguf ? 'GGUF' : ''].filter(Boolean);
  run.setStage('export', `cycle ${best.cycle}: ${what.join(' + ')}`);
  const { gpu } = activityProxies(run.tuning);
  try {
    const out = await gpu.exportAdapter.executeWithOptions(
      { summary: `export the best adapter (cycle ${best.cycle}): ${what.join(' + ')}` },
      [
        {
          migrationId,
          cycle: best.cycle,
          baseModel: config.baseModel,
          adapter: best.adapter,
          merged: wanted.merged,
          gguf: wanted.gguf,
          gpu: config.gpu,
        },
      ],
    );
    const { seconds: _seconds, ...refs } = out;
    run.exported = { cycle: best.cycle, adapter: best.adapter, ...refs };
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.exported = { cycle: best.cycle, adapter: best.adapter, error: rootMessage(err) };
  }
  return run.exported;
}

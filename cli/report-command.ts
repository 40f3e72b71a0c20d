// `llamaduo report <id>`: the report the run wrote at its end, or a fresh one from its progress now.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactStore } from '../activities/store/artifact-store';
import { storeFromEnv } from '../activities/store/open-store';
import { loadCurationDetails } from '../activities/data/report/curation-details';
import { loadDistributions } from '../activities/data/report/distributions';
import type { MigrationClient } from '../client/migrations';
import { reportDataFromProgress, writeReportFile } from '../report';
import { configQuery } from '../workflows/messages';

export async function writeMigrationReport(mc: MigrationClient, id: string, out?: string): Promise<string> {
  const handle = mc.handle(id);
  const progress = await mc.getProgress(id);
  const config = await handle.query(configQuery);
  const store = storeFromEnv();
  const home = process.env.LLAMADUO_HOME ?? '.llamaduo';
  const target = path.resolve(out ?? path.join(home, 'reports', `${progress.migrationId}.html`));
  await mkdir(path.dirname(target), { recursive: true });
  const written = await store.find(ArtifactStore.key(progress.migrationId, 'report.html'), {
    countLines: false,
  });
  if (written && progress.status !== 'running') {
    await writeFile(target, await store.readBytes(written.uri));
    return target;
  }
  const distributions = await loadDistributions(store, progress).catch(() => []);
  const curation = await loadCurationDetails(store, progress).catch(() => ({}));
  return writeReportFile(target, reportDataFromProgress(progress, config, { distributions, curation }));
}

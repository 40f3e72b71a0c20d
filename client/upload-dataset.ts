// `llamaduo start` with a local dataset and an object-store artifact store: the file goes into the store
// (content-addressed, so the same file is uploaded once) and the config names its s3:// URI, so workers
// anywhere read it and nobody copies files onto worker disks.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MigrationConfig } from '../common/config';
import { ArtifactStore } from '../activities/store/artifact-store';
import { LocalArtifactStore } from '../activities/store/local-store';
import { isS3Uri } from '../activities/store/s3-config';
import { resolveDatasetPath } from '../activities/data/ingest/ingest-activity';

/** The config with its dataset in `store` when the store is remote and the dataset a local file; else as is. */
export async function uploadLocalDataset(
  config: MigrationConfig,
  store: ArtifactStore,
): Promise<MigrationConfig> {
  if (store instanceof LocalArtifactStore || isS3Uri(config.dataset.path)) return config;
  const file = resolveDatasetPath(config.dataset.path);
  const bytes = await readFile(file);
  const ext = /^\.[A-Za-z0-9]{1,8}$/.test(path.extname(file)) ? path.extname(file) : '';
  const key = ArtifactStore.key('datasets', `${createHash('sha256').update(bytes).digest('hex')}${ext}`);
  if (!(await store.find(key, { countLines: false }))) await store.write(key, [bytes]);
  return { ...config, dataset: { ...config.dataset, path: store.runnerPath(key) } };
}

// ingestCoverage: validate the user's coverage dataset, split it, write both splits to the artifact store.
// Nothing is written unless the whole file is valid.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import type { IngestInput, IngestResult } from '../../../common/types';
import type { S3Client } from '@aws-sdk/client-s3';
import { ArtifactStore } from '../../store/artifact-store';
import { S3ArtifactStore } from '../../store/s3-store';
import { DatasetError, DatasetErrors, type CoverageRecord } from './coverage-record';
import { readS3Object } from '../../store/s3-objects';
import { isS3Uri } from '../../store/s3-config';
import { parseCoverageBytes, parseCoverageFile } from './parse-coverage';
import { splitCoverage } from './split';

export interface IngestDeps {
  store: ArtifactStore;
  /** relative dataset paths resolve against this directory (the worker's working directory by default) */
  baseDir?: string;
  /** reads s3:// dataset sources; default: the S3 store's own client (same endpoint and credentials) */
  s3?: S3Client;
}

export function resolveDatasetPath(p: string, baseDir = process.cwd()): string {
  if (isS3Uri(p)) return p;
  if (p.startsWith('file://')) return fileURLToPath(p);
  return path.resolve(baseDir, p);
}

/** Validates, filters and splits a coverage dataset without writing anything. */
export async function loadCoverage(
  input: Pick<IngestInput, 'dataset' | 'split'>,
  baseDir?: string,
  s3?: S3Client,
) {
  const file = resolveDatasetPath(input.dataset.path, baseDir);
  const opts = { maxRecordChars: input.dataset.maxRecordChars, splitField: input.split.field };
  // An s3:// source is read by the worker itself: nobody copies datasets onto worker disks.
  const parsed = isS3Uri(file)
    ? parseCoverageBytes(file, await readS3Object(file, s3), opts)
    : await parseCoverageFile(file, opts);
  let records = parsed.records;
  if (input.dataset.categories) {
    const wanted = new Set(input.dataset.categories);
    records = records.filter((r) => wanted.has(r.category));
    if (records.length === 0) {
      const found = [...new Set(parsed.records.map((r) => r.category))].sort().join(', ');
      throw new DatasetErrors([
        new DatasetError(
          file,
          null,
          'dataset.categories',
          `no record has category ${input.dataset.categories.join(' or ')} (found: ${found})`,
        ),
      ]);
    }
  }
  const split = splitCoverage(file, records, { ...input.split, limit: input.dataset.limit });
  return { file, split, duplicatesDropped: parsed.duplicatesDropped };
}

export function createIngestActivities({ store, baseDir, s3 }: IngestDeps) {
  const s3Client = s3 ?? (store instanceof S3ArtifactStore ? store.client : undefined);
  return {
    async ingestCoverage(input: IngestInput): Promise<IngestResult> {
      const trainKey = ArtifactStore.key(input.migrationId, 'data', 'train.jsonl');
      const testKey = ArtifactStore.key(input.migrationId, 'data', 'test.jsonl');
      const reportKey = ArtifactStore.key(input.migrationId, 'data', 'ingest.json');
      const done = await store.find(reportKey);
      if (done) {
        const report = await store.readJson<{ result: IngestResult }>(reportKey);
        return report.result;
      }
      let loaded;
      try {
        loaded = await loadCoverage(input, baseDir, s3Client);
      } catch (err) {
        if (err instanceof DatasetErrors) {
          // Bad input does not get better by retrying.
          throw ApplicationFailure.nonRetryable(err.message, 'InvalidDataset');
        }
        throw err;
      }
      const { split } = loaded;
      const categories: IngestResult['categories'] = {};
      const count = (rs: CoverageRecord[], side: 'train' | 'test') => {
        for (const r of rs) (categories[r.category] ??= { train: 0, test: 0 })[side]++;
      };
      count(split.train, 'train');
      count(split.test, 'test');
      const train = await store.writeJsonl(trainKey, split.train);
      const test = await store.writeJsonl(testKey, split.test);
      const result: IngestResult = { train, test, categories };
      // Written last: its presence marks the whole step as finished.
      await store.writeJson(reportKey, {
        source: loaded.file,
        duplicatesDropped: loaded.duplicatesDropped,
        result,
      });
      return result;
    },
  };
}

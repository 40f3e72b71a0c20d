// Real records for curation tests: the first lines of databricks-dolly-15k from the shared data folder.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoverageRecord } from '../../../activities/data/curation/records';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const RAW_DIR = path.resolve(ROOT, '../shared/data/raw');

interface DollyLine {
  instruction: string;
  context: string;
  response: string;
  category: string;
}

export function dollyRecords(count: number, skip = 0): CoverageRecord[] {
  const file = path.join(RAW_DIR, 'dolly15k/databricks-dolly-15k.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n', skip + count);
  return lines.slice(skip).map((line, k) => {
    const d = JSON.parse(line) as DollyLine;
    return {
      id: `dolly-${skip + k}`,
      category: d.category,
      instruction: d.instruction,
      context: d.context,
      response: d.response,
    };
  });
}

export const DEFAULT_DEDUP = {
  numPerm: 128,
  bands: 32,
  threshold: 0.8,
  shingleSize: 3,
  rougeLThreshold: 0.7,
  decontaminationNgram: 13,
};

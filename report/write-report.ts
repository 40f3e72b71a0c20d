// Writes the rendered report atomically (temp file + rename), so a reader never opens half a page.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderReport } from './render';
import type { ReportData } from './report-data';

export async function writeReportFile(file: string, data: ReportData): Promise<string> {
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${randomUUID()}.tmp`;
  await writeFile(tmp, renderReport(data));
  await rename(tmp, target);
  return target;
}

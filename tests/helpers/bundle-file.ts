// Writes the workflow bundle to a file once, so worker processes that are killed and restarted start fast.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { workflowBundle } from './temporal-env';

export async function writeWorkflowBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'workflow-bundle.js');
  await writeFile(file, (await workflowBundle()).code);
  return file;
}

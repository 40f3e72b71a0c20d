// Writes the workflow bundle (webpack, run once at image build time) to the path given as argument; the
// worker loads it with `workflowBundle: { codePath }` instead of bundling workflows/ at every start.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/create-workers';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../workers/observability/worker-observability';

const out = process.argv[2];
if (!out) throw new Error('usage: build-workflow-bundle.ts <out.js>');
const noop = () => undefined;
const logger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  // the migration id and cycle on workflow log lines and metrics, as when the worker bundles at start
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
  logger,
});
await writeFile(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);

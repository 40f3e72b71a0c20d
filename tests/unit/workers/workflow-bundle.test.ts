import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { prebuiltWorkflowBundle } from '../../../workers/workflow-bundle';

test('the prebuilt bundle: named explicitly, found beside the entry point, or none', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-bundle-'));
  try {
    const entry = pathToFileURL(path.join(dir, 'main.js')).href;
    assert.equal(prebuiltWorkflowBundle(undefined, entry), undefined, 'none beside a tsx entry');
    await writeFile(path.join(dir, 'workflow-bundle.js'), '// bundle');
    assert.deepEqual(prebuiltWorkflowBundle(undefined, entry), {
      codePath: path.join(dir, 'workflow-bundle.js'),
    });
    assert.deepEqual(prebuiltWorkflowBundle(path.join(dir, 'workflow-bundle.js'), entry), {
      codePath: path.join(dir, 'workflow-bundle.js'),
    });
    assert.throws(
      () => prebuiltWorkflowBundle(path.join(dir, 'missing.js'), entry),
      /LLAMADUO_WORKFLOW_BUNDLE: no workflow bundle at .*missing\.js/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

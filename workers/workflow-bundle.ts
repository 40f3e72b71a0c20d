// The prebuilt workflow bundle (scripts/build-worker-dist.sh writes it next to the compiled worker in the
// image): with it the worker starts without running webpack. LLAMADUO_WORKFLOW_BUNDLE names it explicitly;
// otherwise workflow-bundle.js beside the running entry point is used when it exists (never under tsx).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function prebuiltWorkflowBundle(
  explicit: string | undefined,
  entryUrl: string = import.meta.url,
): { codePath: string } | undefined {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`LLAMADUO_WORKFLOW_BUNDLE: no workflow bundle at ${explicit}`);
    return { codePath: explicit };
  }
  const beside = fileURLToPath(new URL('./workflow-bundle.js', entryUrl));
  return existsSync(beside) ? { codePath: beside } : undefined;
}

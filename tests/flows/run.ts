// npm run test:flows: every user flow on a real dev server with the real activities (tests/flows/**/*.test.ts;
// each file starts its own dev server, provider server and CPU trainer runs). The Kubernetes flows (cancel,
// terminate and the reaper) need the control plane and run in tests/k8s (npm run test:k8s).
// Ends with `flows: <n> passed, <m> failed`.
import { runTapSuite } from '../helpers/run-tap-suite';

const t0 = Date.now();
const result = await runTapSuite({
  dir: import.meta.dirname,
  recursive: true,
  concurrency: Number(process.env.LLAMADUO_FLOWS_CONCURRENCY ?? 1),
});
console.log(`[flows] ${result.files} files in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
console.log(
  '[flows] the Kubernetes flows (cancel deletes the Job and its pods, terminate -> the reaper) run in the k8s suite: tests/k8s/migration-gpu-cleanup.test.ts',
);
console.log(`flows: ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);

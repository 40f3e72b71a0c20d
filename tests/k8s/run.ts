// npm run test:k8s: starts the control plane (cluster.ts), runs tests/k8s/*.test.ts against it, tears it
// down, and ends with `k8s: apiserver <version>, <n> passed, <m> failed`.
import { runTapSuite } from '../helpers/run-tap-suite';
import { missingBinaries, startCluster, K8S_BIN } from './cluster';

const missing = missingBinaries();
if (missing.length) {
  console.error(`missing ${missing.join(', ')} in ${K8S_BIN}: run \`bash scripts/setup-k8s.sh\` first`);
  console.log('k8s: apiserver missing, 0 passed, 1 failed');
  process.exit(1);
}

const t0 = Date.now();
const cluster = await startCluster({ log: (s) => console.log(`[k8s] ${s}`) });
console.log(`[k8s] control plane up in ${((Date.now() - t0) / 1000).toFixed(1)}s (${cluster.dir})`);
let result = { passed: 0, failed: 1 };
try {
  result = await runTapSuite({
    dir: import.meta.dirname,
    env: { LLAMADUO_K8S_KUBECONFIG: cluster.adminKubeconfig },
  });
} finally {
  await cluster.stop();
}
console.log(`k8s: apiserver ${cluster.version}, ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);

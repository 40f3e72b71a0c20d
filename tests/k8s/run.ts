// npm run test:k8s: starts the control plane (cluster.ts), runs tests/k8s/*.test.ts against it, tears it
// down, and ends with `k8s: apiserver <version>, <n> passed, <m> failed`.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { missingBinaries, startCluster, K8S_BIN } from './cluster';

const here = import.meta.dirname;
const missing = missingBinaries();
if (missing.length) {
  console.error(`missing ${missing.join(', ')} in ${K8S_BIN}: run \`bash scripts/setup-k8s.sh\` first`);
  console.log('k8s: apiserver missing, 0 passed, 1 failed');
  process.exit(1);
}

const t0 = Date.now();
const cluster = await startCluster({ log: (s) => console.log(`[k8s] ${s}`) });
console.log(`[k8s] control plane up in ${((Date.now() - t0) / 1000).toFixed(1)}s (${cluster.dir})`);
let passed = 0;
let failed = 0;
try {
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(here, f));
  const only = process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  const tap = path.join(cluster.dir, 'results.tap');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      'tsx',
      [
        '--test',
        '--test-concurrency=1',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${tap}`,
        ...selected,
      ],
      { stdio: 'inherit', env: { ...process.env, LLAMADUO_K8S_KUBECONFIG: cluster.adminKubeconfig } },
    );
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const summary = await readFile(tap, 'utf8').catch(() => '');
  passed = Number(/^# pass (\d+)/m.exec(summary)?.[1] ?? 0);
  failed = Number(/^# fail (\d+)/m.exec(summary)?.[1] ?? 0);
  if (code !== 0 && failed === 0) failed = 1;
} finally {
  await cluster.stop();
}
console.log(`k8s: apiserver ${cluster.version}, ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

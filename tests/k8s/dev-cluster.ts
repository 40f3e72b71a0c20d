// Starts the test control plane and keeps it up until Ctrl-C, for poking at it by hand:
//   bash scripts/node-env.sh tsx tests/k8s/dev-cluster.ts   (prints the admin kubeconfig path)
import { startCluster } from './cluster';

const cluster = await startCluster({ log: (s) => console.log(s) });
console.log(`LLAMADUO_K8S_KUBECONFIG=${cluster.adminKubeconfig}`);
const stop = () => void cluster.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setInterval(() => {}, 1 << 30);

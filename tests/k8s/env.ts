// What the Kubernetes tests share: admin and worker clients for the cluster run.ts started, the worker's
// manifests from k8s/ applied, and a fake GPU node for kwok to play.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { GpuBackendConfig } from '../../common/config';
import type { KubernetesGpuConfig } from '../../activities/gpu/job-manifest';
import { K8S_BIN, kubeconfigYaml } from './cluster';

export const NAMESPACE = 'llamaduo';
export const WORKER_SA = 'llamaduo-gpu-worker';
export const GPU_NODE = 'gpu-node-1';
const ROOT = path.resolve(import.meta.dirname, '../..');

function required(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: run the Kubernetes tests through tests/k8s/run.ts (npm run test:k8s)`,
    );
  return v;
}

export function adminKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(required('LLAMADUO_K8S_KUBECONFIG'));
  return kc;
}

/** The objects an overlay renders to, through the kustomize binary setup-k8s.sh built. */
export function renderOverlay(overlay: string): k8s.KubernetesObject[] {
  return renderKustomization(path.join(ROOT, 'k8s', 'overlays', overlay));
}

/** The objects any kustomization directory renders to. */
export function renderKustomization(dir: string): k8s.KubernetesObject[] {
  const yaml = execFileSync(path.join(K8S_BIN, 'kustomize'), ['build', dir], { encoding: 'utf8' });
  return parseAllDocuments(yaml).map((d) => d.toJS() as k8s.KubernetesObject);
}

export async function serverSideApply(
  kc: k8s.KubeConfig,
  objects: k8s.KubernetesObject[],
  dryRun: boolean,
): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    await api.patch(
      obj,
      undefined,
      dryRun ? 'All' : undefined,
      'llamaduo-tests',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
  }
}

/** Registers a ready fake GPU node (8 GPUs, tainted nvidia.com/gpu) for kwok to play. */
export async function addGpuNode(name: string, labels: Record<string, string>): Promise<void> {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  try {
    await core.createNode({
      body: {
        metadata: {
          name,
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, ...labels },
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
        },
        spec: { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
      },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  // kwok's node stage may update the node in between: retry read-modify-write on 409 Conflict.
  for (let attempt = 0; ; attempt++) {
    try {
      // Node status is the kubelet's to write; here the test plays it once (no node lifecycle controller runs).
      const capacity = { cpu: '64', memory: '512Gi', pods: '110', 'nvidia.com/gpu': '8' };
      const node = await core.readNode({ name: name });
      node.status = {
        capacity,
        allocatable: capacity,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: new Date(),
            lastTransitionTime: new Date(),
          },
        ],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        nodeInfo: {
          architecture: 'amd64',
          bootID: '',
          containerRuntimeVersion: 'kwok',
          kernelVersion: '',
          kubeProxyVersion: '',
          kubeletVersion: 'kwok',
          machineID: '',
          operatingSystem: 'linux',
          osImage: '',
          systemUUID: '',
        },
      };
      await core.replaceNodeStatus({ name: name, body: node });
      // New nodes carry the not-ready taint until the node lifecycle controller (not run here) sees them Ready.
      const ready = await core.readNode({ name: name });
      ready.spec!.taints = ready.spec!.taints?.filter((t) => t.key !== 'node.kubernetes.io/not-ready');
      await core.replaceNode({ name: name, body: ready });
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt > 20) throw err;
    }
  }
}

let setUp: Promise<void> | undefined;

/** Applies k8s/overlays/local and registers a GPU node with kwok, once per test process. */
export function ensureWorkerSetup(): Promise<void> {
  setUp ??= (async () => {
    const kc = adminKubeConfig();
    await serverSideApply(kc, renderOverlay('local'), false);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await addGpuNode(GPU_NODE, { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    // pods need the namespace's default ServiceAccount (admission) and a bound artifacts PVC (scheduler)
    for (let i = 0; ; i++) {
      const sa = await core
        .readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE })
        .catch(() => null);
      const pvc = await core.readNamespacedPersistentVolumeClaim({
        name: 'llamaduo-artifacts',
        namespace: NAMESPACE,
      });
      if (sa && pvc.status?.phase === 'Bound') break;
      if (i > 300)
        throw new Error(`namespace ${NAMESPACE} not ready: default SA ${!!sa}, PVC ${pvc.status?.phase}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return setUp;
}

/** A client that is the worker's ServiceAccount (token from the TokenRequest API), as in the Deployment. */
export async function workerKubeConfig(): Promise<k8s.KubeConfig> {
  await ensureWorkerSetup();
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name: WORKER_SA,
    namespace: NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`no token issued for ${WORKER_SA}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(admin.getCurrentCluster()!.server, WORKER_SA, token));
  return kc;
}

/** A Kubernetes GPU config for tests: the image tag steers kwok (see kwok-stages.yaml). */
export function gpuConfig(image: string, extra: Partial<KubernetesGpuConfig> = {}): KubernetesGpuConfig {
  return GpuBackendConfig.parse({
    kind: 'kubernetes',
    namespace: NAMESPACE,
    image,
    gpus: 1,
    nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    cpu: '4',
    memory: '16Gi',
    shmSize: '1Gi',
    backoffLimit: 0,
    ...extra,
  }) as KubernetesGpuConfig;
}

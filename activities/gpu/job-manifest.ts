// Builds the batch/v1 Job that runs one trainer step on a GPU node, from the migration's GPU config.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { GpuBackendConfig } from '../../common/config';
import { NON_RETRIABLE_EXIT_CODES } from './trainer-contract';
import { jobLabels, jobName, LABELS, ownerAnnotations, type GpuWorkId, type WorkflowOwner } from './names';

export type KubernetesGpuConfig = Extract<GpuBackendConfig, { kind: 'kubernetes' }>;

export const TRAINER_CONTAINER = 'trainer';
/** Where the artifacts PVC is mounted in the trainer container. */
export const ARTIFACTS_MOUNT = '/artifacts';
/** The trainer image's user and group (k8s/trainer/Dockerfile: USER 10001:10001); the Job runs as the same. */
export const TRAINER_UID = 10001;
/** The trainer's writable home (an emptyDir): HOME, HF_HOME and TRITON_CACHE_DIR live under it. */
export const HOME_MOUNT = '/home/trainer';
const FINISHED_JOB_TTL_SECONDS = 24 * 3600;

/** Where the trainer's local copies of inputs and outputs live when the store is object storage. */
export const WORK_MOUNT = '/work';

export interface JobRequest extends GpuWorkId {
  /** spec file path as the container sees it (under ARTIFACTS_MOUNT, or an s3:// URI) */
  specPath: string;
  owner?: WorkflowOwner;
  /** nodes the pod must not run on: where an earlier submission of this step failed */
  avoidNodes?: string[];
}

/** On a Job resubmitted off the nodes its earlier pods failed on: those nodes, comma-separated. */
export const AVOID_NODES_ANNOTATION = 'llamaduo.dev/avoid-nodes';

/** An object-store artifact store: the trainer reads and writes it directly, no volume is mounted. */
export interface RemoteArtifacts {
  /** `s3://bucket/prefix` */
  location: string;
  /** non-secret settings the trainer needs to reach it (endpoint, region); credentials come from the
   * Secret in `secretName` or the service account's cloud identity (IRSA, Workload Identity) */
  env: Record<string, string>;
}

/** Hub access for the trainer: the token only as a reference to a Secret, never as a value. */
function hubEnv(cfg: KubernetesGpuConfig): V1EnvVar[] {
  const hub = cfg.hub;
  const env: V1EnvVar[] = [{ name: 'HF_HUB_DISABLE_PROGRESS_BARS', value: '1' }];
  if (hub?.endpoint) env.push({ name: 'HF_ENDPOINT', value: hub.endpoint });
  env.push({ name: 'HF_HUB_OFFLINE', value: hub?.offline ? '1' : '0' });
  if (hub?.tokenSecret)
    env.push({
      name: 'HF_TOKEN',
      valueFrom: { secretKeyRef: { name: hub.tokenSecret.name, key: hub.tokenSecret.key } },
    });
  return env;
}

export function buildJob(req: JobRequest, cfg: KubernetesGpuConfig, remote?: RemoteArtifacts): V1Job {
  const name = jobName(req);
  const labels = jobLabels(req);
  const queued = cfg.kueueQueue !== undefined;
  if (queued) labels[LABELS.kueueQueue] = cfg.kueueQueue!;
  if (cfg.kueuePriorityClass) labels[LABELS.kueuePriorityClass] = cfg.kueuePriorityClass;
  const avoid = req.avoidNodes ?? [];
  const annotations: Record<string, string> = req.owner ? ownerAnnotations(req.owner) : {};
  if (avoid.length) annotations[AVOID_NODES_ANNOTATION] = avoid.join(',');
  const limits: Record<string, string> = { cpu: cfg.cpu, memory: cfg.memory };
  if (cfg.gpus > 0) limits['nvidia.com/gpu'] = String(cfg.gpus);

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cfg.namespace,
      labels,
      annotations: Object.keys(annotations).length ? annotations : undefined,
    },
    spec: {
      // Kueue admits the Job by unsuspending it; without Kueue it starts right away.
      suspend: queued,
      backoffLimit: cfg.backoffLimit,
      activeDeadlineSeconds: cfg.activeDeadlineSeconds,
      ttlSecondsAfterFinished: FINISHED_JOB_TTL_SECONDS,
      // Required with podFailurePolicy: a replacement pod starts only once the failed one is gone.
      podReplacementPolicy: 'Failed',
      podFailurePolicy: {
        // Disruptions first: an evicted pod's exit 137 must not read as OOM and fail the Job.
        rules: [
          // Preemption, eviction, node drain: not the trainer's fault, does not count against backoffLimit.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          // 137 = SIGKILL (OOMKilled); the trainer's own non-retriable codes: retrying cannot help.
          // The API server wants the codes in ascending order.
          {
            action: 'FailJob',
            onExitCodes: {
              containerName: TRAINER_CONTAINER,
              operator: 'In',
              values: [137, ...NON_RETRIABLE_EXIT_CODES].sort((a, b) => a - b),
            },
          },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          priorityClassName: cfg.priorityClassName,
          // SIGTERM -> the trainer finishes its step and checkpoints; SIGKILL only after this.
          terminationGracePeriodSeconds: cfg.terminationGracePeriodSeconds,
          imagePullSecrets: cfg.imagePullSecrets.length
            ? cfg.imagePullSecrets.map((name) => ({ name }))
            : undefined,
          affinity: avoid.length
            ? {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      {
                        matchExpressions: [
                          { key: 'kubernetes.io/hostname', operator: 'NotIn', values: avoid },
                        ],
                      },
                    ],
                  },
                },
              }
            : undefined,
          nodeSelector: Object.keys(cfg.nodeSelector).length ? cfg.nodeSelector : undefined,
          tolerations: cfg.tolerations.length ? cfg.tolerations : undefined,
          serviceAccountName: cfg.serviceAccountName,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: TRAINER_UID,
            runAsGroup: TRAINER_UID,
            fsGroup: TRAINER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: TRAINER_CONTAINER,
              image: cfg.image,
              imagePullPolicy: cfg.imagePullPolicy,
              command: ['python', '-m', 'llamaduo_trainer', req.step, '--spec', req.specPath],
              // The log tail becomes the termination message: classification works even when logs are gone.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              resources: { limits, requests: { ...limits } },
              envFrom: cfg.secretName ? [{ secretRef: { name: cfg.secretName } }] : undefined,
              env: [
                { name: 'LLAMADUO_ARTIFACTS', value: remote ? remote.location : ARTIFACTS_MOUNT },
                { name: 'PYTHONUNBUFFERED', value: '1' },
                // Caches a library writes on first use; the image's own home is not writable by every uid.
                { name: 'HOME', value: HOME_MOUNT },
                { name: 'HF_HOME', value: `${HOME_MOUNT}/.cache/huggingface` },
                { name: 'TRITON_CACHE_DIR', value: `${HOME_MOUNT}/.triton` },
                ...hubEnv(cfg),
                ...(remote
                  ? [
                      { name: 'LLAMADUO_WORK_DIR', value: WORK_MOUNT },
                      ...Object.entries(remote.env).map(([name, value]) => ({ name, value })),
                    ]
                  : []),
              ],
              volumeMounts: [
                remote
                  ? { name: 'work', mountPath: WORK_MOUNT }
                  : { name: 'artifacts', mountPath: ARTIFACTS_MOUNT },
                { name: 'dshm', mountPath: '/dev/shm' },
                { name: 'home', mountPath: HOME_MOUNT },
              ],
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
          volumes: [
            remote
              ? { name: 'work', emptyDir: cfg.workSize ? { sizeLimit: cfg.workSize } : {} }
              : { name: 'artifacts', persistentVolumeClaim: { claimName: cfg.artifactsPvc } },
            // PyTorch DataLoader workers share tensors through /dev/shm; the container default is 64 MiB.
            { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: cfg.shmSize } },
            { name: 'home', emptyDir: {} },
          ],
        },
      },
    },
  };
}

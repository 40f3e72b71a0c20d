// What the kustomize overlays create, read back from a real API server after they are applied: one
// Deployment per worker role with the queues and variables the worker itself parses, resources sized from
// the benchmarks, Pod Security "restricted" enforced by the API server's PodSecurity admission, RBAC for the
// Job backend and nothing more (SubjectAccessReview: what `kubectl auth can-i --as=system:serviceaccount:...`
// asks), NetworkPolicy ports per role, and the KEDA and mTLS pieces' shape.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { TASK_QUEUES, type QueueName } from '../../common/activities';
import { readWorkerEnv } from '../../workers/worker-config';
import {
  adminKubeConfig,
  ensureWorkerSetup,
  NAMESPACE,
  renderKustomization,
  renderOverlay,
  serverSideApply,
} from './env';

/** tests/k8s/fixtures/stand-in-crds.yaml */
function renderCrds(): k8s.KubernetesObject[] {
  const text = readFileSync(path.join(import.meta.dirname, 'fixtures', 'stand-in-crds.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as k8s.KubernetesObject);
}

const ROLES = ['workflow', 'data', 'llm', 'gpu'] as const;
const ROOT = path.resolve(import.meta.dirname, '../..');
/** docs/benchmarks.md: curation of 256k samples, peak RSS 1640 MB */
const CURATION_PEAK_BYTES = 1640 * 1024 * 1024;
const code = (err: unknown) => (err as { code?: number }).code;

function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G)?$/.exec(q);
  assert.ok(m, `quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 } as const;
  return Number(m[1]) * (m[2] ? unit[m[2] as keyof typeof unit] : 1);
}

/** The environment a worker container sees: its ConfigMaps (envFrom) under its own env values. */
function containerEnv(
  container: k8s.V1Container,
  configMaps: Map<string, Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? [])
    if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name!) ?? {});
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function selects(selector: k8s.V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    assert.equal(e.operator, 'In', 'only In expressions are used');
    if (!e.values!.includes(labels[e.key] ?? '')) return false;
  }
  return true;
}

/** The local overlay with one of k8s/components added, rendered by kustomize. */
function withComponent(component: string): k8s.KubernetesObject[] {
  // kustomize takes relative paths only: an overlay of the local one, in the checkout's ignored .llamaduo/
  mkdirSync(path.join(ROOT, '.llamaduo'), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, '.llamaduo', `${component}-`));
  try {
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${path.relative(dir, path.join(ROOT, 'k8s', 'overlays', 'local'))}`,
        'components:',
        `  - ${path.relative(dir, path.join(ROOT, 'k8s', 'components', component))}`,
        '',
      ].join('\n'),
    );
    return renderKustomization(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deployment manifests, applied', () => {
  let deployments: k8s.V1Deployment[];
  let configMaps: Map<string, Record<string, string>>;
  before(async () => {
    await ensureWorkerSetup();
    const kc = adminKubeConfig();
    deployments = (await kc.makeApiClient(k8s.AppsV1Api).listNamespacedDeployment({ namespace: NAMESPACE }))
      .items;
    configMaps = new Map(
      (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: NAMESPACE })).items.map(
        (c) => [c.metadata!.name!, c.data ?? {}],
      ),
    );
  });
  const worker = (role: string) => {
    const d = deployments.find((x) => x.metadata!.name === `llamaduo-${role}-worker`);
    assert.ok(d, `Deployment llamaduo-${role}-worker`);
    return d;
  };

  it('one Deployment per role, each serving exactly its queue as the worker parses it', () => {
    const served: QueueName[] = [];
    for (const role of ROLES) {
      const c = worker(role).spec!.template.spec!.containers[0]!;
      assert.deepEqual(c.args, ['dist/main.js'], `${role}: runs the compiled worker`);
      const env = readWorkerEnv(containerEnv(c, configMaps));
      assert.deepEqual(env.LLAMADUO_QUEUES, [role], `${role}: LLAMADUO_QUEUES`);
      served.push(...env.LLAMADUO_QUEUES);
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal-frontend.temporal.svc:7233');
      assert.equal(env.LLAMADUO_HEALTH_PORT, 8080);
      // Prometheus reaches /metrics where the worker serves it: the named port and the scrape annotations
      assert.equal(env.LLAMADUO_METRICS_PORT, 9464, `${role}: LLAMADUO_METRICS_PORT`);
      assert.equal(c.ports?.find((p) => p.name === 'metrics')?.containerPort, env.LLAMADUO_METRICS_PORT);
      const annotations = worker(role).spec!.template.metadata!.annotations ?? {};
      assert.equal(annotations['prometheus.io/scrape'], 'true', `${role}: scraped`);
      assert.equal(Number(annotations['prometheus.io/port']), env.LLAMADUO_METRICS_PORT);
      assert.equal(annotations['prometheus.io/path'], '/metrics');
      const apiKey = c.env!.find((e) => e.name === 'TEMPORAL_API_KEY');
      assert.equal(
        apiKey?.valueFrom?.secretKeyRef?.optional,
        true,
        `${role}: API key from an optional Secret`,
      );
    }
    assert.deepEqual(served.sort(), (Object.keys(TASK_QUEUES) as QueueName[]).sort(), 'every queue served');
    const shared = configMaps.get('llamaduo-worker')!;
    assert.equal(shared.LLAMADUO_QUEUES, undefined, 'the shared ConfigMap sets no queues');
    assert.equal(shared.LLAMADUO_TASK_QUEUES, undefined);
  });

  it('role-specific settings: rate limits and Redis for LLM, reaper for GPU, data concurrency for memory', () => {
    const llm = worker('llm').spec!.template.spec!;
    const llmEnv = readWorkerEnv(containerEnv(llm.containers[0]!, configMaps));
    assert.equal(llmEnv.LLAMADUO_RATE_LIMITS, '/etc/llamaduo/rate-limits.yaml');
    const mount = llm.containers[0]!.volumeMounts!.find((m) => m.mountPath === '/etc/llamaduo');
    const vol = llm.volumes!.find((v) => v.name === mount?.name);
    assert.equal(vol?.configMap?.name, 'llamaduo-rate-limits');
    assert.ok(configMaps.get('llamaduo-rate-limits')?.['rate-limits.yaml']);
    const redis = llm.containers[0]!.env!.find((e) => e.name === 'LLAMADUO_REDIS_URL');
    assert.deepEqual(
      { ...redis?.valueFrom?.secretKeyRef },
      { name: 'llamaduo-redis', key: 'url', optional: true },
    );
    const providerKeys = (role: string) =>
      worker(role).spec!.template.spec!.containers[0]!.envFrom!.some(
        (f) => f.secretRef?.name === 'llamaduo-provider-keys',
      );
    assert.deepEqual(ROLES.filter(providerKeys), ['llm'], 'provider keys reach the LLM worker only');

    const gpu = readWorkerEnv(containerEnv(worker('gpu').spec!.template.spec!.containers[0]!, configMaps));
    assert.deepEqual(gpu.LLAMADUO_REAPER_NAMESPACES, [NAMESPACE]);

    const data = worker('data').spec!.template.spec!.containers[0]!;
    const dataEnv = readWorkerEnv(containerEnv(data, configMaps));
    const limit = bytes(data.resources!.limits!.memory!);
    assert.ok(
      limit >= dataEnv.LLAMADUO_DATA_CONCURRENCY * CURATION_PEAK_BYTES + 256 * 2 ** 20,
      `data worker: ${data.resources!.limits!.memory} holds ${dataEnv.LLAMADUO_DATA_CONCURRENCY} curations of 1.6 GB`,
    );
    for (const role of ROLES) {
      const c = worker(role).spec!.template.spec!.containers[0]!;
      assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${role}: requests`);
      assert.ok(
        bytes(c.resources!.limits!.memory!) >= bytes(c.resources!.requests!.memory!),
        `${role}: limit >= request`,
      );
      assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
      assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
      assert.equal(c.readinessProbe?.httpGet?.port, 'health');
      assert.equal(c.ports?.find((p) => p.name === 'health')?.containerPort, 8080);
    }
  });

  it('PodDisruptionBudgets cover every worker role and the codec server', async () => {
    const pdbs = (
      await adminKubeConfig().makeApiClient(k8s.PolicyV1Api).listNamespacedPodDisruptionBudget({
        namespace: NAMESPACE,
      })
    ).items;
    const codec = deployments.find((d) => d.metadata!.name === 'llamaduo-codec-server')!;
    for (const d of [...ROLES.map(worker), codec]) {
      const labels = d.spec!.template.metadata!.labels!;
      const matching = pdbs.filter((p) => selects(p.spec!.selector, labels));
      assert.equal(matching.length, 1, `${d.metadata!.name}: one PDB`);
      assert.equal(matching[0]!.spec!.maxUnavailable, 1);
    }
  });

  it('the namespace enforces Pod Security "restricted" and every pod template passes it', async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const ns = await core.readNamespace({ name: NAMESPACE });
    assert.equal(ns.metadata!.labels!['pod-security.kubernetes.io/enforce'], 'restricted');
    // The API server's PodSecurity admission really enforces it: a pod without the restricted settings is refused.
    await assert.rejects(
      core.createNamespacedPod({
        namespace: NAMESPACE,
        dryRun: 'All',
        body: { metadata: { name: 'psa-probe' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      }),
      (err: unknown) => {
        assert.equal(code(err), 403, String(err));
        assert.match(String((err as { body?: unknown }).body), /violates PodSecurity \\+"restricted:latest/);
        return true;
      },
    );
    // Each Deployment's pod, created as its ReplicaSet would (dry run), is admitted.
    for (const d of deployments) {
      const pod: k8s.V1Pod = {
        metadata: { name: `${d.metadata!.name}-psa`, labels: d.spec!.template.metadata!.labels },
        spec: d.spec!.template.spec!,
      };
      await core.createNamespacedPod({ namespace: NAMESPACE, dryRun: 'All', body: pod }).catch((err) => {
        assert.fail(`${d.metadata!.name}: ${String((err as { body?: unknown }).body ?? err)}`);
      });
      const sc = d.spec!.template.spec!.securityContext!;
      assert.equal(sc.runAsNonRoot, true);
      assert.equal(sc.runAsUser, 10001, 'the image user');
    }
  });

  it('RBAC: the GPU worker may do what the Job backend needs and nothing more; other workers nothing', async () => {
    const authz = adminKubeConfig().makeApiClient(k8s.AuthorizationV1Api);
    const can = async (
      sa: string,
      verb: string,
      resource: string,
      group = '',
      subresource?: string,
      namespace = NAMESPACE,
    ) =>
      (
        await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${NAMESPACE}:${sa}`,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${NAMESPACE}`,
                'system:authenticated',
              ],
              resourceAttributes: { verb, resource, group, subresource, namespace },
            },
          },
        })
      ).status!.allowed;
    const needed = new Set([
      'batch/jobs:get',
      'batch/jobs:list',
      'batch/jobs:watch',
      'batch/jobs:create',
      'batch/jobs:delete',
      // an adopting run re-annotates the Job with its own run id, so the reaper leaves it to its new owner
      'batch/jobs:patch',
      '/pods:get',
      '/pods:list',
      '/pods:watch',
      '/pods/log:get',
      // mount failures (FailedMount, Multi-Attach) are seen only as events on the pod
      '/events:list',
    ]);
    const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
    const resources: [string, string, string?][] = [
      ['batch', 'jobs'],
      ['batch', 'jobs', 'status'],
      ['batch', 'cronjobs'],
      ['', 'pods'],
      ['', 'pods', 'log'],
      ['', 'pods', 'exec'],
      ['', 'pods', 'eviction'],
      ['', 'secrets'],
      ['', 'configmaps'],
      ['', 'serviceaccounts'],
      ['', 'serviceaccounts', 'token'],
      ['', 'persistentvolumeclaims'],
      ['', 'events'],
      ['apps', 'deployments'],
      ['rbac.authorization.k8s.io', 'roles'],
      ['rbac.authorization.k8s.io', 'rolebindings'],
      ['networking.k8s.io', 'networkpolicies'],
    ];
    const granted: string[] = [];
    for (const [group, resource, sub] of resources)
      for (const verb of verbs) {
        const key = `${group}/${resource}${sub ? `/${sub}` : ''}:${verb}`;
        if (await can('llamaduo-gpu-worker', verb, resource, group, sub)) granted.push(key);
        assert.equal(
          await can('llamaduo-worker', verb, resource, group, sub),
          false,
          `llamaduo-worker ${key}`,
        );
        assert.equal(
          await can('llamaduo-gpu-worker', verb, resource, group, sub, 'default'),
          false,
          `gpu worker ${key} in another namespace`,
        );
      }
    assert.deepEqual(granted.sort(), [...needed].sort());
    for (const verb of ['list', 'get', 'create'])
      for (const resource of ['nodes', 'namespaces', 'clusterroles'])
        assert.equal(
          await can(
            'llamaduo-gpu-worker',
            verb,
            resource,
            resource === 'clusterroles' ? 'rbac.authorization.k8s.io' : '',
            undefined,
            '',
          ),
          false,
          `cluster-wide ${resource} ${verb}`,
        );
  });
});

describe('network policies', () => {
  const objects = renderOverlay('local');
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as k8s.V1NetworkPolicy[];
  const podLabels = (name: string) =>
    (objects.find((o) => o.kind === 'Deployment' && o.metadata!.name === name) as k8s.V1Deployment).spec!
      .template.metadata!.labels!;
  const ports = (labels: Record<string, string>, dir: 'ingress' | 'egress') =>
    [
      ...new Set(
        policies
          .filter((p) => selects(p.spec!.podSelector, labels))
          .flatMap((p) => p.spec![dir] ?? [])
          .flatMap((rule) => (rule.ports ?? []).map((x) => Number(x.port))),
      ),
    ].sort((a, b) => a - b);

  it('each role may reach only what it calls; ingress only to health/metrics', () => {
    const expected: Record<(typeof ROLES)[number], number[]> = {
      // 4318: OTLP/HTTP traces (workers/observability/tracing.ts), every role
      workflow: [53, 4318, 7233],
      data: [53, 443, 4318, 7233, 8333, 9000],
      llm: [53, 443, 4318, 6379, 7233, 8333, 9000],
      gpu: [53, 443, 4318, 6443, 7233, 8333, 9000],
    };
    for (const role of ROLES) {
      const labels = podLabels(`llamaduo-${role}-worker`);
      assert.deepEqual(ports(labels, 'egress'), expected[role], `${role} egress`);
      assert.deepEqual(ports(labels, 'ingress'), [8080, 9464], `${role} ingress: health and metrics`);
      const types = new Set(
        policies.filter((p) => selects(p.spec!.podSelector, labels)).flatMap((p) => p.spec!.policyTypes!),
      );
      assert.ok(types.has('Ingress') && types.has('Egress'), `${role}: both directions restricted`);
    }
    const codec = podLabels('llamaduo-codec-server');
    assert.deepEqual(ports(codec, 'ingress'), [8888]);
    assert.deepEqual(ports(codec, 'egress'), [53, 443]);
    // provider APIs: the public internet only, not the cluster's private ranges
    const llmWeb = policies
      .find((p) => p.metadata!.name === 'llamaduo-llm-egress')!
      .spec!.egress!.flatMap((r) => r.to ?? [])
      .find((t) => t.ipBlock);
    assert.deepEqual(llmWeb?.ipBlock?.except, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  });
});

describe('autoscaling and Temporal mTLS', () => {
  it('where KEDA’s and Kueue’s CRDs exist, the gpu-cloud overlay applies whole and nothing is pruned', async () => {
    const kc = adminKubeConfig();
    const crds = renderCrds();
    await serverSideApply(kc, crds, false);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    for (const crd of crds)
      for (let i = 0; ; i++) {
        const c = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
        if (c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
        assert.ok(i < 100, `${crd.metadata!.name} established`);
        await new Promise((r) => setTimeout(r, 100));
      }
    const ns = 'llamaduo-keda';
    const objects = renderOverlay('gpu-cloud').map((o) => {
      const copy = structuredClone(o) as k8s.KubernetesObject & { subjects?: { namespace?: string }[] };
      if (copy.kind === 'Namespace') copy.metadata!.name = ns;
      else if (copy.metadata?.namespace) copy.metadata.namespace = ns;
      for (const s of copy.subjects ?? []) s.namespace = ns;
      return copy;
    });
    await serverSideApply(
      kc,
      objects.filter((o) => o.kind === 'Namespace'),
      false,
    );
    await serverSideApply(kc, objects, false);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const sent of objects.filter((o) => o.kind === 'ScaledObject' || o.kind === 'LocalQueue')) {
      const [group, version] = sent.apiVersion!.split('/') as [string, string];
      const stored = (await custom.getNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: `${sent.kind!.toLowerCase()}s`,
        name: sent.metadata!.name!,
      })) as { spec: unknown };
      assert.deepEqual(
        stored.spec,
        (sent as unknown as { spec: unknown }).spec,
        `${sent.kind} ${sent.metadata!.name}`,
      );
    }
  });

  it('KEDA ScaledObjects scale the llm and data workers on their own queue’s backlog', () => {
    const objects = renderOverlay('gpu-cloud');
    const scaled = objects.filter((o) => o.kind === 'ScaledObject') as (k8s.KubernetesObject & {
      spec: {
        scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
        cooldownPeriod?: number;
        advanced?: { horizontalPodAutoscalerConfig?: { behavior?: k8s.V2HorizontalPodAutoscalerBehavior } };
        triggers: { type: string; metadata: Record<string, unknown>; authenticationRef?: unknown }[];
      };
    })[];
    assert.deepEqual(scaled.map((s) => s.metadata!.name).sort(), [
      'llamaduo-data-worker',
      'llamaduo-llm-worker',
    ]);
    const config = (
      objects.find((o) => o.kind === 'ConfigMap' && o.metadata!.name === 'llamaduo-worker') as k8s.V1ConfigMap
    ).data!;
    // The Temporal trigger's fields as KEDA documents them (keda.sh/docs/2.17+/scalers/temporal).
    const documented = new Set([
      'endpoint',
      'endpointFromEnv',
      'namespace',
      'taskQueue',
      'targetQueueSize',
      'activationTargetQueueSize',
      'queueTypes',
      'buildId',
      'selectAllActive',
      'selectUnversioned',
      'minConnectTimeout',
      'unsafeSsl',
      'tlsServerName',
      'workerDeploymentName',
      'workerDeploymentBuildId',
    ]);
    for (const s of scaled) {
      assert.equal(s.apiVersion, 'keda.sh/v1alpha1');
      assert.equal(s.metadata!.namespace, NAMESPACE);
      const target = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata!.name === s.spec.scaleTargetRef.name,
      ) as k8s.V1Deployment;
      assert.ok(target, `${s.metadata!.name} targets a Deployment of the overlay`);
      assert.equal(s.spec.scaleTargetRef.kind, 'Deployment');
      assert.equal(target.spec!.replicas, undefined, 'replicas left to the autoscaler');
      assert.ok(s.spec.minReplicaCount >= 1 && s.spec.maxReplicaCount > s.spec.minReplicaCount);
      // never to zero, so KEDA's cooldownPeriod (scale to zero only) does nothing: scale-down is the HPA's,
      // one replica at a time after a stabilization window of minutes (activities get 60 s at SIGTERM)
      assert.equal(s.spec.cooldownPeriod, undefined, 'no cooldownPeriod that would not apply');
      const down = s.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown;
      assert.ok((down?.stabilizationWindowSeconds ?? 0) >= 300, `${s.metadata!.name}: scale-down window`);
      assert.deepEqual(
        down?.policies?.map((p) => [p.type, p.value]),
        [['Pods', 1]],
        `${s.metadata!.name}: one replica at a time`,
      );
      const container = target.spec!.template.spec!.containers[0]!;
      const queues = readWorkerEnv(
        containerEnv(container, new Map([['llamaduo-worker', config]])),
      ).LLAMADUO_QUEUES;
      assert.equal(s.spec.triggers.length, 1);
      const [t] = s.spec.triggers;
      assert.equal(t!.type, 'temporal');
      for (const [k, v] of Object.entries(t!.metadata)) {
        assert.ok(documented.has(k), `${k} is a documented temporal trigger field`);
        assert.equal(typeof v, 'string', `${k}: KEDA metadata values are strings`);
      }
      assert.equal(t!.metadata.taskQueue, TASK_QUEUES[queues[0]!], 'scales on the queue its target serves');
      assert.equal(t!.metadata.queueTypes, 'activity');
      assert.equal(t!.metadata.namespace, config.TEMPORAL_NAMESPACE);
      assert.equal(t!.metadata.endpointFromEnv, 'TEMPORAL_ADDRESS');
      assert.ok(config.TEMPORAL_ADDRESS, 'the endpoint variable reaches the target container');
      assert.match(String(t!.metadata.targetQueueSize), /^[1-9]\d*$/);
    }
  });

  it('the prometheus component scrapes every worker role on the port its container names "metrics"', () => {
    const objects = withComponent('prometheus');
    const monitor = objects.find((o) => o.kind === 'PodMonitor') as
      | (k8s.KubernetesObject & {
          spec: {
            selector: k8s.V1LabelSelector;
            podMetricsEndpoints: { port: string; path: string }[];
          };
        })
      | undefined;
    assert.ok(monitor, 'a PodMonitor');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata!.namespace, NAMESPACE);
    const workers = objects.filter(
      (o) => o.kind === 'Deployment' && o.metadata!.labels?.['app.kubernetes.io/component'] === 'worker',
    ) as k8s.V1Deployment[];
    assert.deepEqual(
      workers.map((d) => d.metadata!.name).sort(),
      ROLES.map((r) => `llamaduo-${r}-worker`).sort(),
    );
    const [endpoint] = monitor.spec.podMetricsEndpoints;
    assert.equal(endpoint?.path, '/metrics');
    for (const d of workers) {
      const pod = d.spec!.template;
      assert.ok(selects(monitor.spec.selector, pod.metadata!.labels!), `${d.metadata!.name} selected`);
      assert.ok(
        pod.spec!.containers[0]!.ports!.some((p) => p.name === endpoint!.port),
        `${d.metadata!.name} names the port ${endpoint!.port}`,
      );
    }
    const codec = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata!.name === 'llamaduo-codec-server',
    );
    assert.ok(
      !selects(monitor.spec.selector, (codec as k8s.V1Deployment).spec!.template.metadata!.labels!),
      'the codec server has no /metrics',
    );
  });

  it('the temporal-mtls component gives every worker the client certificate, and the API server accepts it', async () => {
    const objects = withComponent('temporal-mtls');
    const workers = objects.filter(
      (o) => o.kind === 'Deployment' && o.metadata!.labels?.['app.kubernetes.io/component'] === 'worker',
    ) as k8s.V1Deployment[];
    assert.equal(workers.length, 4);
    for (const d of workers) {
      const spec = d.spec!.template.spec!;
      const env = Object.fromEntries(spec.containers[0]!.env!.map((e) => [e.name, e.value]));
      assert.equal(env.TEMPORAL_TLS_CERT, '/etc/temporal-tls/tls.crt');
      assert.equal(env.TEMPORAL_TLS_KEY, '/etc/temporal-tls/tls.key');
      assert.equal(env.TEMPORAL_TLS_CA, '/etc/temporal-tls/ca.crt');
      assert.equal(env.LLAMADUO_QUEUES !== undefined, true, 'the patch keeps the role variables');
      assert.equal(
        spec.volumes!.find((v) => v.name === 'temporal-tls')?.secret?.secretName,
        'llamaduo-temporal-tls',
      );
    }
    const codec = objects.find(
      (o) => o.metadata!.name === 'llamaduo-codec-server' && o.kind === 'Deployment',
    ) as k8s.V1Deployment;
    assert.equal(codec.spec!.template.spec!.volumes, undefined, 'the codec server does not talk to Temporal');
    await serverSideApply(adminKubeConfig(), workers, true);
  });
});

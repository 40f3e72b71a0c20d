// k8s/ against a real API server: both overlays are accepted (server-side apply, dry run), the local one is
// applied, and the worker's ServiceAccount can do exactly what the Job backend needs and nothing more.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  adminKubeConfig,
  ensureWorkerSetup,
  NAMESPACE,
  renderOverlay,
  serverSideApply,
  workerKubeConfig,
} from './env';

const code = (err: unknown) => (err as { code?: number }).code;

/** Namespaced objects can only be dry-run into a namespace that exists. */
async function applyNamespaceFirst(objects: k8s.KubernetesObject[]) {
  await serverSideApply(
    adminKubeConfig(),
    objects.filter((o) => o.kind === 'Namespace'),
    false,
  );
}

async function expectForbidden(what: string, call: () => Promise<unknown>) {
  await assert.rejects(call, (err: unknown) => {
    assert.equal(code(err), 403, `${what}: expected 403, got ${code(err)} ${String(err)}`);
    return true;
  });
}

describe('manifests in k8s/', () => {
  it('the local overlay is accepted by server-side apply (dry run) and applied', async () => {
    const objects = renderOverlay('local');
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      ...Array(3).fill('ConfigMap'),
      ...Array(5).fill('Deployment'),
      'Namespace',
      ...Array(6).fill('NetworkPolicy'),
      'PersistentVolume',
      'PersistentVolumeClaim',
      ...Array(5).fill('PodDisruptionBudget'),
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
    await applyNamespaceFirst(objects);
    await serverSideApply(adminKubeConfig(), objects, true);
    await ensureWorkerSetup();
    const apps = adminKubeConfig().makeApiClient(k8s.AppsV1Api);
    const dep = await apps.readNamespacedDeployment({ name: 'llamaduo-gpu-worker', namespace: NAMESPACE });
    assert.equal(dep.spec!.template.spec!.serviceAccountName, 'llamaduo-gpu-worker');
    for (const role of ['workflow', 'data', 'llm'])
      assert.equal(
        (await apps.readNamespacedDeployment({ name: `llamaduo-${role}-worker`, namespace: NAMESPACE })).spec!
          .template.spec!.serviceAccountName,
        'llamaduo-worker',
        `${role} worker runs without API access`,
      );
  });

  it('the gpu-cloud overlay renders and its core objects pass a server dry run', async () => {
    const objects = renderOverlay('gpu-cloud');
    const queue = objects.find((o) => o.kind === 'LocalQueue');
    assert.equal(queue?.metadata?.namespace, NAMESPACE);
    // Into a namespace of its own, so it does not collide with the local overlay applied above.
    const ns = 'llamaduo-cloud';
    const moved = objects.map((o) => {
      const copy = structuredClone(o) as k8s.KubernetesObject & { subjects?: { namespace?: string }[] };
      if (copy.kind === 'Namespace') copy.metadata!.name = ns;
      else if (copy.metadata?.namespace) copy.metadata.namespace = ns;
      for (const s of copy.subjects ?? []) s.namespace = ns;
      return copy;
    });
    await applyNamespaceFirst(moved);
    // Kueue's and KEDA's CRDs are not installed in the test cluster (their objects' shape is checked in
    // deploy-manifests.test.ts); everything else must be accepted as is.
    assert.equal(moved.filter((o) => o.kind === 'ScaledObject').length, 2);
    await serverSideApply(
      adminKubeConfig(),
      moved.filter((o) => o.kind !== 'LocalQueue' && o.kind !== 'ScaledObject'),
      true,
    );
  });

  it('the worker ServiceAccount can manage Jobs and read pods and logs in its namespace', async () => {
    const kc = await workerKubeConfig();
    const auth = kc.makeApiClient(k8s.AuthorizationV1Api);
    const can = async (
      verb: string,
      resource: string,
      subresource?: string,
      namespace = NAMESPACE,
      group = '',
    ) =>
      (
        await auth.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource, subresource, namespace, group } } },
        })
      ).status!.allowed;
    for (const verb of ['create', 'get', 'list', 'watch', 'patch', 'delete'])
      assert.equal(await can(verb, 'jobs', undefined, NAMESPACE, 'batch'), true, `jobs ${verb}`);
    for (const verb of ['get', 'list', 'watch']) assert.equal(await can(verb, 'pods'), true, `pods ${verb}`);
    assert.equal(await can('get', 'pods', 'log'), true, 'pods/log get');
    // FailedMount / Multi-Attach are only in events (a stuck pod's are read to fail its step)
    assert.equal(await can('list', 'events'), true, 'events list');
    assert.equal(await can('delete', 'events'), false, 'events delete');
    // and really: list Jobs and pods with the token
    await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace: NAMESPACE });
    await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: NAMESPACE });
  });

  it('the worker ServiceAccount cannot read Secrets, touch other namespaces or anything cluster-wide', async () => {
    const kc = await workerKubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    await expectForbidden('list secrets', () => core.listNamespacedSecret({ namespace: NAMESPACE }));
    await expectForbidden('read a secret', () =>
      core.readNamespacedSecret({ name: 'llamaduo-provider-keys', namespace: NAMESPACE }),
    );
    await expectForbidden('list jobs elsewhere', () => batch.listNamespacedJob({ namespace: 'default' }));
    await expectForbidden('create a job elsewhere', () =>
      batch.createNamespacedJob({
        namespace: 'default',
        body: {
          metadata: { name: 'x' },
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } },
        },
      }),
    );
    // Jobs may be patched (an adopted Job is re-annotated with its new run), pods may not
    await expectForbidden('update pods', () =>
      core.patchNamespacedPod({
        name: 'x',
        namespace: NAMESPACE,
        body: { metadata: { labels: { a: 'b' } } },
      }),
    );
    await expectForbidden('delete pods', () => core.deleteNamespacedPod({ name: 'x', namespace: NAMESPACE }));
    await expectForbidden('list nodes', () => core.listNode());
    await expectForbidden('create pods', () =>
      core.createNamespacedPod({
        namespace: NAMESPACE,
        body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      }),
    );
  });
});

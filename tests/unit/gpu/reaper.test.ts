// The reaper's decisions on a listed set of Jobs: which it deletes, which it keeps. The Kubernetes and Temporal
// sides are answered in-process here; tests/k8s/reaper-owners.test.ts runs it against a real API server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reapOrphanedJobs } from '../../../activities/gpu/reaper';
import { NAMESPACE_ANNOTATION, RUN_ANNOTATION, WORKFLOW_ANNOTATION } from '../../../activities/gpu/names';

function job(name: string, workflowId: string, finished = false) {
  return {
    metadata: {
      name,
      annotations: {
        [NAMESPACE_ANNOTATION]: 'default',
        [WORKFLOW_ANNOTATION]: workflowId,
        [RUN_ANNOTATION]: `${workflowId}-run`,
      },
    },
    status: finished ? { conditions: [{ type: 'Complete', status: 'True' }] } : {},
  };
}

test('a describe that fails for one owner keeps that Job and still reaps the closed owners', async () => {
  const deleted: string[] = [];
  const kube = {
    makeApiClient: () => ({
      listNamespacedJob: async () => ({
        items: [
          job('a-unknown', 'flaky'),
          job('b-closed', 'closed'),
          job('c-running', 'running'),
          job('d-gone', 'gone'),
          job('e-done', 'closed', true),
        ],
      }),
      deleteNamespacedJob: async ({ name }: { name: string }) => {
        deleted.push(name);
        return {};
      },
    }),
  } as unknown as KubeConfig;
  const status = { closed: 'COMPLETED', running: 'RUNNING' } as Record<string, string>;
  const client = {
    options: { namespace: 'default' },
    workflow: {
      getHandle: (workflowId: string) => ({
        describe: async () => {
          if (workflowId === 'flaky') throw new Error('PERMISSION_DENIED');
          if (workflowId === 'gone') throw new WorkflowNotFoundError('not found', workflowId, undefined);
          return { status: { name: status[workflowId] } };
        },
      }),
    },
  } as unknown as Client;
  const logs: string[] = [];
  const reaped = await reapOrphanedJobs({
    kubeConfig: kube,
    client,
    namespaces: ['llamaduo'],
    log: (m) => logs.push(m),
  });
  assert.deepEqual(deleted, ['b-closed', 'd-gone']);
  assert.deepEqual(reaped, ['llamaduo/b-closed', 'llamaduo/d-gone']);
  assert.ok(
    logs.some((l) => /cannot describe .*flaky.*a-unknown.*PERMISSION_DENIED/.test(l)),
    logs.join('\n'),
  );
});

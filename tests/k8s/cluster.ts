// A throwaway Kubernetes control plane on 127.0.0.1 for the tests: etcd, kube-apiserver (RBAC, token auth),
// kube-controller-manager (Job, GC, TTL, namespace, service account, PV binder), kube-scheduler, and kwok
// playing the kubelet for fake GPU nodes. Binaries come from scripts/setup-k8s.sh; nothing is downloaded.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const K8S_BIN = path.join(
  process.env.LLAMADUO_TOOLS ?? path.resolve(import.meta.dirname, '../../.tools'),
  'k8s',
  'bin',
);
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

export interface Cluster {
  dir: string;
  server: string;
  adminToken: string;
  /** kubeconfig file for the cluster admin (system:masters) */
  adminKubeconfig: string;
  version: string;
  stop(): Promise<void>;
}

export function missingBinaries(): string[] {
  return BINARIES.filter((b) => !existsSync(path.join(K8S_BIN, b)));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function get(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function kubeconfigYaml(server: string, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    'users:',
    `- name: ${user}\n  user:\n    token: ${token}`,
    'contexts:',
    `- name: test\n  context:\n    cluster: test\n    user: ${user}`,
    'current-context: test',
    '',
  ].join('\n');
}

export async function startCluster(opts: { log?: (s: string) => void } = {}): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const missing = missingBinaries();
  if (missing.length)
    throw new Error(`missing ${missing.join(', ')} in ${K8S_BIN}: run scripts/setup-k8s.sh`);
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-k8s-'));
  const procs: { name: string; proc: ChildProcess }[] = [];
  const bin = (b: string) => path.join(K8S_BIN, b);

  const launch = (name: string, args: string[]) => {
    const out = createWriteStream(path.join(dir, `${name}.log`));
    const proc = spawn(bin(name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    procs.push({ name, proc });
    return proc;
  };
  const stop = async () => {
    for (const { proc } of [...procs].reverse()) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.LLAMADUO_K8S_KEEP) await rm(dir, { recursive: true, force: true });
  };
  const tail = async (name: string) =>
    (await readFile(path.join(dir, `${name}.log`), 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
  const until = async (what: string, name: string, check: () => Promise<boolean>, ms = 90_000) => {
    const end = Date.now() + ms;
    for (;;) {
      if (await check()) return;
      const p = procs.find((x) => x.name === name)?.proc;
      if (p && p.exitCode !== null)
        throw new Error(`${name} exited (${p.exitCode}) before ${what}:\n${await tail(name)}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${await tail(name)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    launch('etcd', [
      '--name=test',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await until('etcd health', 'etcd', async () => {
      const res = await fetch(`${etcdUrl}/health`).catch(() => null);
      return res?.ok ?? false;
    });

    const pki = path.join(dir, 'pki');
    await mkdir(pki);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(path.join(pki, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(path.join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(24).toString('hex');
    await writeFile(path.join(pki, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`);
    const server = `https://127.0.0.1:${apiPort}`;
    launch('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${pki}`,
      `--token-auth-file=${path.join(pki, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${path.join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
    ]);
    await until(
      'kube-apiserver /readyz',
      'kube-apiserver',
      async () => (await get(`${server}/readyz`, adminToken)).status === 200,
    );
    const version = JSON.parse((await get(`${server}/version`, adminToken)).body).gitVersion as string;
    log(`kube-apiserver ${version} ready at ${server}`);

    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    await writeFile(adminKubeconfig, kubeconfigYaml(server, 'admin', adminToken));
    launch('kube-controller-manager', [
      `--kubeconfig=${adminKubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
      '--controllers=job-controller,garbage-collector-controller,ttl-after-finished-controller,namespace-controller,serviceaccount-controller,pod-garbage-collector-controller,persistentvolume-binder-controller',
    ]);
    launch('kube-scheduler', [`--kubeconfig=${adminKubeconfig}`, '--leader-elect=false', '--secure-port=0']);
    launch('kwok', [
      `--kubeconfig=${adminKubeconfig}`,
      `--config=${path.join(import.meta.dirname, 'kwok-stages.yaml')}`,
      '--manage-nodes-with-label-selector=type=kwok',
      `--server-address=127.0.0.1:${await freePort()}`,
    ]);
    // the service account controller creating "default" shows the controller manager is working
    await until(
      'default service account',
      'kube-controller-manager',
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminToken)).status === 200,
    );
    return { dir, server, adminToken, adminKubeconfig, version, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// The worker entry point as Kubernetes runs it: ready on /readyz once polling, graceful exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startDevServer, type DevServer } from '../../client/dev-server';

const MAIN = path.resolve(import.meta.dirname, '..', '..', 'workers', 'main.ts');

describe('worker entry point', () => {
  let server: DevServer;
  let dir: string;
  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-worker-'));
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves /healthz and /readyz, refuses a bad queue list, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      LLAMADUO_ARTIFACTS: dir,
      LLAMADUO_HEALTH_PORT: String(port),
      LLAMADUO_METRICS_PORT: '0',
      LLAMADUO_LOG_LEVEL: 'WARN' as const,
    };
    const bad = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...env, LLAMADUO_QUEUES: 'gpu,tpu' },
    });
    let badErr = '';
    bad.stderr.on('data', (b) => (badErr += b));
    assert.notEqual(await new Promise((r) => bad.once('exit', r)), 0);
    assert.match(badErr, /LLAMADUO_QUEUES/);

    const worker = spawn(process.execPath, ['--import', 'tsx', MAIN], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    let ready = false;
    for (let i = 0; i < 240 && !ready; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(ready, 'worker became ready');
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    worker.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

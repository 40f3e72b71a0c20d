// What the worker image runs, built the way its Dockerfile builds it (scripts/build-worker-dist.sh): the
// compiled worker starts with plain node (no tsx), loads the prebuilt workflow bundle instead of running
// webpack, polls every queue it is told to, answers its probes and exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { freePort, startDevServer, type DevServer } from '../../client/dev-server';
import { TASK_QUEUES } from '../../common/activities';

const { TaskQueueType } = proto.temporal.api.enums.v1;
type TaskQueueType = proto.temporal.api.enums.v1.TaskQueueType;
const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('worker image build', () => {
  let server: DevServer;
  let dist: string;
  let work: string;
  let meta: string;
  before(async () => {
    // inside the checkout, so that the compiled files resolve node_modules as they do in the image's /app
    dist = path.join('.llamaduo', `test-dist-${process.pid}`);
    meta = path.join(tmpdir(), `llamaduo-esbuild-meta-${process.pid}.json`);
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-worker-dist.sh'), dist], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ESBUILD_METAFILE: meta },
    });
    dist = path.join(ROOT, dist);
    server = await startDevServer();
    work = await mkdtemp(path.join(tmpdir(), 'llamaduo-image-'));
  });
  after(async () => {
    await server?.stop();
    await rm(dist, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
    await rm(meta, { force: true });
  });

  it('produces the compiled entry points and the workflow bundle', () => {
    for (const f of ['main.js', 'codec-server.js', 'llamaduo.js', 'features-worker.js', 'workflow-bundle.js'])
      assert.ok(existsSync(path.join(dist, f)), `${f} built`);
  });

  it('the Dockerfile copies every source folder the build reads and runs this very script', async () => {
    const inputs = Object.keys(
      (JSON.parse(await readFile(meta, 'utf8')) as { inputs: Record<string, unknown> }).inputs,
    );
    const folders = new Set(inputs.map((f) => f.split('/')[0]!));
    const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    const build = dockerfile.split(/^FROM /m).find((stage) => stage.includes('AS build'))!;
    const copied = new Set([...build.matchAll(/^COPY (\S+) /gm)].map((m) => m[1]!));
    for (const folder of folders) assert.ok(copied.has(folder), `Dockerfile build stage copies ${folder}/`);
    assert.match(build, /^RUN bash scripts\/build-worker-dist\.sh dist$/m);
    assert.match(dockerfile, /^USER 10001:10001$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node"/m);
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m, 'Node pinned to a version');
    assert.match(dockerfile, /npm ci --omit=dev/);
  });

  it('the compiled worker loads the prebuilt bundle, polls its queues, is ready and stops on SIGTERM', async () => {
    const port = await freePort();
    let out = '';
    const worker = spawn(process.execPath, [path.join(dist, 'main.js')], {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? '',
        TEMPORAL_ADDRESS: server.address,
        LLAMADUO_QUEUES: 'workflow,data,llm,gpu',
        LLAMADUO_ARTIFACTS: path.join(work, 'artifacts'),
        LLAMADUO_HEALTH_PORT: String(port),
        LLAMADUO_METRICS_PORT: '0',
        LLAMADUO_LOG_LEVEL: 'INFO',
      },
    });
    worker.stdout.on('data', (b) => (out += b));
    worker.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    const connection = await Connection.connect({ address: server.address });
    try {
      const pollers = async (name: string, type: TaskQueueType) =>
        (
          await connection.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name },
            taskQueueType: type,
          })
        ).pollers ?? [];
      const expected: [string, TaskQueueType][] = [
        [TASK_QUEUES.workflow, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
        [TASK_QUEUES.data, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
        [TASK_QUEUES.llm, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
        [TASK_QUEUES.gpu, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
      ];
      for (const [name, type] of expected) {
        let found = 0;
        for (let i = 0; i < 240 && !found; i++) {
          assert.equal(worker.exitCode, null, `worker exited early:\n${out}`);
          found = (await pollers(name, type)).length;
          if (!found) await new Promise((r) => setTimeout(r, 250));
        }
        assert.ok(found > 0, `a poller on ${name}\n${out}`);
      }
      // the startup line reaches the pipe on its own schedule: the pollers can be visible before it arrives
      const startup = new RegExp(`workflows from ${path.join(dist, 'workflow-bundle.js')}`);
      for (let i = 0; i < 100 && !startup.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, startup);
      assert.doesNotMatch(out, /Workflow bundle created/, 'webpack did not run at start');
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    } finally {
      await connection.close();
      worker.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });

  it('the compiled codec server and CLI start with plain node', () => {
    const help = execFileSync(process.execPath, [path.join(dist, 'llamaduo.js'), '--help'], {
      cwd: work,
      encoding: 'utf8',
    });
    assert.match(help, /Usage: llamaduo/);
    // no keys configured: the codec server must refuse to start, naming the variable
    const r = spawnSyncText(process.execPath, [path.join(dist, 'codec-server.js')], work);
    assert.notEqual(r.status, 0);
    assert.match(r.text, /LLAMADUO_CODEC_KEYS/);
  });
});

function spawnSyncText(cmd: string, args: string[], cwd: string): { status: number | null; text: string } {
  try {
    const text = execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    return { status: 0, text };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string; stderr?: string };
    return { status: e.status, text: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// Workers and the CLI on a Temporal frontend that demands mTLS and an API key: an HTTP/2 TLS proxy with
// its own CA (openssl) stands in front of the dev server, requires a client certificate signed by that CA
// and records what each gRPC call carries, then forwards it to the dev server.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { connect } from '../../cli/connect';
import { freePort, startDevServer, type DevServer } from '../../client/dev-server';
import { TASK_QUEUES } from '../../common/activities';

const MAIN = path.resolve(import.meta.dirname, '..', '..', 'workers', 'main.ts');
const API_KEY = 'tmprl-test-key-0123456789';

function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  const leaf = (name: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    execFileSync('bash', ['-c', `printf '%s\\n' "${ext}" > ${name}.ext`], { cwd: dir });
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  leaf(
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE',
  );
  leaf('llamaduo-worker', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE');
}

interface Seen {
  path: string;
  authorization?: string;
  clientCn?: string;
}

async function startMtlsProxy(dir: string, upstream: string) {
  const seen: Seen[] = [];
  const server = http2.createSecureServer({
    key: await readFile(path.join(dir, 'localhost.key')),
    cert: await readFile(path.join(dir, 'localhost.pem')),
    ca: await readFile(path.join(dir, 'ca.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const client = http2.connect(`http://${upstream}`);
  server.on('stream', (stream, headers) => {
    const socket = stream.session?.socket as TLSSocket | undefined;
    seen.push({
      path: String(headers[':path']),
      authorization: headers.authorization as string | undefined,
      clientCn: socket?.getPeerCertificate().subject?.CN as string | undefined,
    });
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers))
      if (![':scheme', ':authority', 'connection'].includes(k) && v !== undefined) forward[k] = v;
    const req = client.request(forward, { endStream: false });
    let trailers: http2.OutgoingHttpHeaders = {};
    req.on('response', (h) => {
      const head = { ...h } as http2.OutgoingHttpHeaders;
      // a gRPC trailers-only answer (an error at once) comes back the same way
      if (head['grpc-status'] !== undefined) stream.respond(head, { endStream: true });
      else stream.respond(head, { waitForTrailers: true });
    });
    req.on('trailers', (t) => (trailers = { ...t }));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(req);
    req.pipe(stream);
    req.on('error', () => stream.destroy());
    stream.on('error', () => req.destroy());
    stream.on('close', () => req.close());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        client.close();
        server.close(() => r());
      }),
  };
}

describe('Temporal over mTLS with an API key', () => {
  let server: DevServer;
  let dir: string;
  let proxy: Awaited<ReturnType<typeof startMtlsProxy>>;
  let tlsEnv: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-mtls-'));
    makePki(dir);
    server = await startDevServer();
    proxy = await startMtlsProxy(dir, server.address);
    tlsEnv = {
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_CERT: path.join(dir, 'llamaduo-worker.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'llamaduo-worker.key'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_API_KEY: API_KEY,
    };
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the worker connects with its client certificate and key, polls, and never prints the key', async () => {
    const port = await freePort();
    let out = '';
    const worker = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        ...tlsEnv,
        LLAMADUO_QUEUES: 'llm',
        LLAMADUO_ARTIFACTS: path.join(dir, 'artifacts'),
        LLAMADUO_HEALTH_PORT: String(port),
        LLAMADUO_METRICS_PORT: '0',
        // INFO: the startup line names how the worker connected
        LLAMADUO_LOG_LEVEL: 'INFO',
      },
    });
    worker.stdout.on('data', (b) => (out += b));
    worker.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => worker.once('exit', (c) => r(c)));
    const direct = await Connection.connect({ address: server.address });
    try {
      let pollers = 0;
      for (let i = 0; i < 240 && !pollers; i++) {
        assert.equal(worker.exitCode, null, `worker exited:\n${out}`);
        pollers = (
          (
            await direct.workflowService.describeTaskQueue({
              namespace: 'default',
              taskQueue: { name: TASK_QUEUES.llm },
              taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            })
          ).pollers ?? []
        ).length;
        if (!pollers) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(pollers > 0, `the worker polls through the mTLS proxy\n${out}`);
    } finally {
      await direct.close();
      worker.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /\(mTLS \+ API key\)/);
    assert.ok(!out.includes(API_KEY), 'the API key is never printed');
    const polls = proxy.seen.filter((s) => s.path.endsWith('/PollActivityTaskQueue'));
    assert.ok(polls.length > 0, 'polls went through the proxy');
    for (const s of polls) {
      assert.equal(s.authorization, `Bearer ${API_KEY}`);
      assert.equal(s.clientCn, 'llamaduo-worker');
    }
  });

  it('the CLI connects the same way; without the client certificate the handshake is refused', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, tlsEnv);
      const { client, connection } = await connect(proxy.address);
      const info = await client.workflowService.getSystemInfo({});
      assert.ok(info.capabilities, 'a call through mTLS answered');
      await connection.close();
      assert.equal(proxy.seen.at(-1)?.authorization, `Bearer ${API_KEY}`);

      delete process.env.TEMPORAL_TLS_CERT;
      delete process.env.TEMPORAL_TLS_KEY;
      await assert.rejects(connect(proxy.address), /cannot reach Temporal/);
    } finally {
      for (const k of Object.keys(tlsEnv)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

// A real S3-compatible server for tests: SeaweedFS's `weed server` (built by scripts/setup-seaweedfs.sh)
// on loopback with random ports, a temp data directory and S3 identities: `admin` (everything) and
// `reader` (read and list only, so writes get a real 403).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const WEED_BIN = path.join(
  process.env.LLAMADUO_TOOLS ?? path.resolve(import.meta.dirname, '..', '..', '.tools'),
  'bin',
  'weed',
);

export interface S3Identity {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SeaweedServer {
  endpoint: string;
  version: string;
  admin: S3Identity;
  reader: S3Identity;
  dir: string;
  /** the environment a process needs to reach this server as `admin` */
  env(identity?: S3Identity): Record<string, string>;
  stop(): Promise<void>;
}

export function weedVersion(): string {
  // `version 30GB 4.53  linux amd64`: the build flavour (30 GB volumes), then the release
  const out = execFileSync(WEED_BIN, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return /version\s+(?:\S+GB\s+)?(\d[\w.]*)/.exec(out)?.[1] ?? out.trim().split('\n')[0]!;
}

/** A free loopback port (every SeaweedFS listener gets an explicit one, gRPC included). */
async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    if (taken.has(port)) continue;
    taken.add(port);
    return port;
  }
}

function identity(): S3Identity {
  return {
    accessKeyId: `AK${randomBytes(8).toString('hex')}`,
    secretAccessKey: randomBytes(20).toString('hex'),
  };
}

async function waitForS3(endpoint: string, child: ChildProcess, log: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null)
      throw new Error(`weed exited ${child.exitCode} while starting (log: ${log})`);
    // Any HTTP answer (403 for an unsigned request) means the S3 gateway is serving.
    const ok = await fetch(endpoint, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status > 0,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`SeaweedFS S3 gateway at ${endpoint} did not answer within ${ms / 1000}s (log: ${log})`);
}

export async function startSeaweed(): Promise<SeaweedServer> {
  if (!existsSync(WEED_BIN))
    throw new Error(`${WEED_BIN} missing: run \`bash scripts/setup-seaweedfs.sh\` first`);
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-seaweed-'));
  const taken = new Set<number>();
  const port = async () => freePort(taken);
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = [
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
    await port(),
  ];
  const admin = identity();
  const reader = identity();
  const config = path.join(dir, 's3.json');
  await writeFile(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'admin',
          credentials: [{ accessKey: admin.accessKeyId, secretKey: admin.secretAccessKey }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
        {
          name: 'reader',
          credentials: [{ accessKey: reader.accessKeyId, secretKey: reader.secretAccessKey }],
          actions: ['Read', 'List'],
        },
      ],
    }),
  );
  const log = path.join(dir, 'weed.log');
  const fd = openSync(log, 'a');
  const child = spawn(
    WEED_BIN,
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      '-filer',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-s3.config=${config}`,
      // Tests reach nothing outside loopback.
      '-master.telemetry=false',
      // Every bucket is a collection that grows its own volumes (several at a time), and the Hub test stores a
      // 270 MB model: 32 volumes ran out by the fourth test file and writes answered 500. Volumes are sparse
      // files, so a higher cap costs no disk until used.
      '-master.volumeSizeLimitMB=64',
      '-volume.max=128',
    ],
    { stdio: ['ignore', fd, fd], cwd: dir },
  );
  const endpoint = `http://127.0.0.1:${s3}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForS3(endpoint, child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    version: weedVersion(),
    admin,
    reader,
    dir,
    env: (id = admin) => ({
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: id.accessKeyId,
      AWS_SECRET_ACCESS_KEY: id.secretAccessKey,
      AWS_REGION: 'us-east-1',
    }),
    stop,
  };
}

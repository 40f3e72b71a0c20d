// Starts a private redis-server (Debian's, see scripts/setup-redis.sh) on a free loopback port in a temp
// dir, with persistence off; stop() kills it and removes the dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'llamaduo-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ready = await new Promise<boolean>((resolve, reject) => {
      let out = '';
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) resolve(true);
      };
      child.stdout!.on('data', onData);
      child.once('error', (err) =>
        reject(new Error(`cannot start redis-server (run scripts/setup-redis.sh): ${err.message}`)),
      );
      child.once('exit', () => resolve(false));
      setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${out}`)), 10_000).unref();
    });
    if (ready) return { url: `redis://127.0.0.1:${port}`, port, stop: () => stop(child, dir) };
    if (attempt >= 3) throw new Error('redis-server exited at start three times (port taken?)');
  }
}

async function stop(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

// Runs replica.ts as child processes (each a separate worker "replica") and collects their results.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ReplicaJob } from './replica';

const REPLICA = path.join(import.meta.dirname, 'replica.ts');
const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface ReplicaResult {
  ok: number;
  failed: number;
  rateLimited: number;
  /** each permit's slot on the limiter's clock (Redis ms when shared) */
  sendAt: number[];
}

export function spawnReplica(job: ReplicaJob): ChildProcess {
  // node with tsx's loader rather than the tsx CLI: one process, so a SIGKILL kills the replica itself
  return spawn(process.execPath, ['--import', 'tsx', REPLICA, JSON.stringify(job)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the child's JSON result line; rejects when it exits without one. */
export function runReplica(job: ReplicaJob): Promise<ReplicaResult> {
  const child = spawnReplica(job);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ReplicaResult);
      } catch {
        reject(new Error(`replica exited ${code} without a result:\n${out}\n${err}`));
      }
    });
  });
}

/** Resolves once a hold-mode replica has its lease. */
export function holdLease(job: ReplicaJob): Promise<ChildProcess> {
  const child = spawnReplica({ ...job, mode: 'hold' });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('held')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`holder exited ${code} before taking a lease`)));
  });
}

/** The most events in any window of `windowMs` (events: [time ms, weight]). */
export function maxInWindow(events: [number, number][], windowMs: number): number {
  const sorted = [...events].sort((a, b) => a[0] - b[0]);
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (const [t, w] of sorted) {
    sum += w;
    while (sorted[lo]![0] <= t - windowMs) sum -= sorted[lo++]![1];
    best = Math.max(best, sum);
  }
  return best;
}

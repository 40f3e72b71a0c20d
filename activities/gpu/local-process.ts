// Bookkeeping for a trainer running as a detached process group on this machine: a state directory holds
// pid.json (pid + kernel start time, so a reused pid is never mistaken for ours), the log, and the exit code
// written by the wrapper shell once the trainer ends. A restarted worker reads them to adopt the process.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import path from 'node:path';

export interface ProcessRecord {
  pid: number;
  startTicks: string | null;
  startedAt: string;
}

export function stateFiles(dir: string) {
  return {
    pid: path.join(dir, 'pid.json'),
    /** written by the wrapper shell itself before the trainer starts (see startDetached) */
    shellPid: path.join(dir, 'shell-pid'),
    log: path.join(dir, 'trainer.log'),
    exit: path.join(dir, 'exit-code'),
  };
}

/** Kernel start time of a pid (field 22 of /proc/<pid>/stat), null where /proc is missing. */
async function startTicks(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export async function isAlive(rec: ProcessRecord): Promise<boolean> {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  if (rec.startTicks === null) return true;
  const now = await startTicks(rec.pid);
  if (now !== rec.startTicks) return false;
  // a zombie (exited, not yet reaped by this process) is not running
  const stat = await readFile(`/proc/${rec.pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

export async function readRecord(dir: string): Promise<ProcessRecord | null> {
  const files = stateFiles(dir);
  try {
    return JSON.parse(await readFile(files.pid, 'utf8')) as ProcessRecord;
  } catch {
    // The worker died between starting the shell and writing pid.json: the shell's own record still
    // names the running trainer, so the next attempt adopts it instead of starting a second one.
    try {
      const pid = Number.parseInt((await readFile(files.shellPid, 'utf8')).trim(), 10);
      if (!Number.isInteger(pid) || pid <= 0) return null;
      const { mtime } = await stat(files.shellPid);
      return { pid, startTicks: null, startedAt: mtime.toISOString() };
    } catch {
      return null;
    }
  }
}

export async function readExitCode(dir: string): Promise<number | null> {
  try {
    const n = Number.parseInt((await readFile(stateFiles(dir).exit, 'utf8')).trim(), 10);
    return Number.isNaN(n) ? null : n;
  } catch {
    return null;
  }
}

/**
 * Starts `argv` detached in its own process group, through a shell that records the exit code atomically.
 * The process outlives this worker on purpose: a restarted worker adopts it.
 */
export async function startDetached(
  dir: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<ProcessRecord> {
  await mkdir(dir, { recursive: true });
  const files = stateFiles(dir);
  await rm(files.exit, { force: true });
  await rm(files.shellPid, { force: true });
  const out = openSync(files.log, 'a');
  // The shell records its own pid before anything else, so a worker killed before it wrote pid.json
  // leaves a trainer that the next attempt can still find (readRecord).
  const script =
    'echo $$ > "$PID_FILE.tmp" && mv "$PID_FILE.tmp" "$PID_FILE"; ' +
    '"$@"; code=$?; echo $code > "$EXIT_FILE.tmp" && mv "$EXIT_FILE.tmp" "$EXIT_FILE"; exit $code';
  const child = spawn('/bin/sh', ['-c', script, 'trainer', ...argv], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...env, EXIT_FILE: files.exit, PID_FILE: files.shellPid },
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${argv[0]}`);
  child.unref();
  // reap it if this worker is still around when it exits, so it never lingers as a zombie
  child.on('error', () => {});
  const rec: ProcessRecord = { pid, startTicks: await startTicks(pid), startedAt: new Date().toISOString() };
  await writeFile(`${files.pid}.tmp`, JSON.stringify(rec));
  await rename(`${files.pid}.tmp`, files.pid);
  return rec;
}

/**
 * SIGTERM to the whole process group, SIGKILL after the grace period. `whileWaiting` runs every 100 ms until
 * the group is gone (an activity heartbeats there, so a slow exit is not taken for a lost worker).
 */
export async function killGroup(
  rec: ProcessRecord,
  graceMs: number,
  whileWaiting: () => void = () => {},
): Promise<void> {
  const signalGroup = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(-rec.pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!signalGroup('SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!signalGroup(0)) return;
    whileWaiting();
    await new Promise((r) => setTimeout(r, 100));
  }
  signalGroup('SIGKILL');
}

export async function logTail(dir: string, lines = 20): Promise<string[]> {
  try {
    const fh = await open(stateFiles(dir).log, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').trimEnd().split('\n').slice(-lines);
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
}

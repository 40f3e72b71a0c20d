// Runs trainer steps as a child process on the worker's machine (GPU or CPU) with the same spec/manifest
// contract and heartbeats as the Job backend. The process is detached so it survives a worker crash; the
// next attempt adopts it while it runs, reads its exit code once it ended, or restarts it cleanly.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { GpuBackendConfig } from '../../common/config';
import type { ArtifactStore } from '../store/artifact-store';
import { LocalArtifactStore } from '../store/local-store';
import {
  makeWake,
  sleepOrWake,
  stopReason,
  type GpuBackend,
  type GpuProgress,
  type GpuRunRequest,
  type RunHooks,
} from './backend';
import { EXIT_PREEMPTED, NON_RETRIABLE_EXIT_CODES } from './trainer-contract';
import { looksLikeCudaOom, toApplicationFailure, type GpuFailure } from './failures';
import {
  isAlive,
  killGroup,
  logTail,
  readExitCode,
  readRecord,
  startDetached,
  stateFiles,
  type ProcessRecord,
} from './local-process';
import { stepKeys } from './names';

export type LocalGpuConfig = Extract<GpuBackendConfig, { kind: 'local' }>;

export interface LocalBackendDeps {
  store: ArtifactStore;
  config: LocalGpuConfig;
  /** argv before `<step> --spec <file>`; default: `<python> -m llamaduo_trainer` */
  command?: string[];
  pollIntervalMs?: number;
  /** SIGTERM to SIGKILL on cancel */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Where the process record, exit code and log of each step live when the store is not a local directory
   * (with a local store they sit next to the step's artifacts). Default: $LLAMADUO_HOME/gpu-runs.
   */
  runStateDir?: string;
}

function classifyExit(code: number, lines: string[]): GpuFailure {
  if (looksLikeCudaOom(lines))
    return {
      kind: 'cudaOutOfMemory',
      message: `trainer ran out of GPU memory (exit ${code})`,
      logTail: lines,
    };
  if (code === 137)
    return {
      kind: 'oomKilled',
      message: 'trainer was killed (exit 137, SIGKILL: likely out of host memory)',
      logTail: lines,
    };
  if (code === EXIT_PREEMPTED)
    return {
      kind: 'preempted',
      message: 'trainer checkpointed and stopped; the next attempt resumes',
      logTail: lines,
    };
  if ((NON_RETRIABLE_EXIT_CODES as readonly number[]).includes(code))
    return { kind: 'rejected', message: `trainer exited ${code} (not retriable)`, logTail: lines };
  return { kind: 'crashed', message: `trainer exited ${code}`, logTail: lines };
}

export function createLocalBackend(deps: LocalBackendDeps): GpuBackend {
  const { store, config } = deps;
  const pollMs = deps.pollIntervalMs ?? 2000;
  const graceMs = deps.killGraceMs ?? 10_000;
  const command = deps.command ?? [config.python ?? 'python3', '-m', 'llamaduo_trainer'];
  const runStateDir = deps.runStateDir ?? path.join(process.env.LLAMADUO_HOME ?? '.llamaduo', 'gpu-runs');

  return {
    artifactsRoot: store.location,

    async deleteWork(migrationId: string): Promise<string[]> {
      // Every step's state directory is <migration>/cycle-<n>/<step>/run (see run below).
      // With a remote store the state directories live under runStateDir instead.
      const killed: string[] = [];
      const local = store instanceof LocalArtifactStore ? store : new LocalArtifactStore(runStateDir);
      const pidFiles = (await local.list(migrationId)).filter((k) => k.endsWith('/run/pid.json'));
      for (const key of pidFiles) {
        const dir = path.dirname(local.path(key));
        const rec = await readRecord(dir);
        if (rec && (await readExitCode(dir)) === null && (await isAlive(rec))) {
          await killGroup(rec, graceMs);
          killed.push(path.dirname(path.dirname(key)));
        }
      }
      return killed;
    },

    async run(req: GpuRunRequest, hooks: RunHooks): Promise<void> {
      const key = stepKeys(req);
      const name = key.dir;
      const dir =
        store instanceof LocalArtifactStore
          ? path.join(store.path(key.dir), 'run')
          : path.resolve(runStateDir, key.dir, 'run');
      const env = {
        ...process.env,
        ...deps.env,
        LLAMADUO_ARTIFACTS: store.location,
        LLAMADUO_DEVICE: config.device,
        PYTHONUNBUFFERED: '1',
        HF_HUB_DISABLE_PROGRESS_BARS: '1',
        ...(config.hub?.endpoint ? { HF_ENDPOINT: config.hub.endpoint } : {}),
        ...(config.hub?.offline ? { HF_HUB_OFFLINE: '1' } : {}),
      };

      let origin: GpuProgress['origin'] = 'created';
      let rec: ProcessRecord | null = await readRecord(dir);
      const previousExit = await readExitCode(dir);
      if (rec && previousExit === null && (await isAlive(rec))) origin = 'adopted';
      else if (rec && previousExit === 0) origin = 'adopted';
      else {
        // Nothing running, or it ended badly (reported by that attempt already), or it died with the machine.
        // The output directory stays: the trainer resumes from its checkpoints there.
        if (rec) origin = 'recreated';
        await rm(dir, { recursive: true, force: true });
        rec = await startDetached(dir, [...command, req.step, '--spec', req.specPath], env);
      }

      for (;;) {
        if (hooks.signal.aborted) {
          const stop = stopReason(hooks.signal);
          if (stop.deleteWork)
            await killGroup(rec, graceMs, () =>
              hooks.heartbeat({ backend: 'local', name, phase: 'stopping', origin }),
            );
          throw stop;
        }
        const code = await readExitCode(dir);
        const alive = code === null && (await isAlive(rec));
        const lines = await logTail(dir);
        hooks.heartbeat({
          backend: 'local',
          name,
          phase: alive ? 'running' : code === 0 ? 'succeeded' : 'failed',
          origin,
          logTail: lines,
        });
        if (code === 0) return;
        if (code !== null) throw toApplicationFailure(classifyExit(code, lines), name);
        if (!alive && (await readExitCode(dir)) !== null) continue; // it exited between the two reads
        if (!alive)
          throw toApplicationFailure(
            {
              kind: 'crashed',
              message: `trainer process ${rec.pid} vanished without an exit code (see ${stateFiles(dir).log})`,
              logTail: lines,
              lost: true,
            },
            name,
          );
        await sleepOrWake(pollMs, hooks.signal, makeWake());
      }
    },
  };
}

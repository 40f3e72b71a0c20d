// How many cores this process may keep busy: the OS's count (affinity included), capped by the cgroup CPU
// quota. A container's CPU limit is a CFS quota, not a cpuset, so the core count alone reports every core
// of the node, and threads sized to that on a 2-core limit only wait for each other.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/** The cgroup's CPU quota in whole cores (rounded up); null when unlimited or unreadable. v2, then v1. */
export function cgroupCpuLimit(root = '/sys/fs/cgroup'): number | null {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(root, f), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const v2 = read('cpu.max');
  const [quota, period] =
    v2 !== null ? v2.split(/\s+/) : [read('cpu/cpu.cfs_quota_us'), read('cpu/cpu.cfs_period_us')];
  if (quota === null || quota === undefined || period === null || period === undefined) return null;
  if (quota === 'max' || quota === '-1') return null;
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : null;
}

export function availableCores(root?: string): number {
  const cores = Math.max(1, availableParallelism());
  const limit = cgroupCpuLimit(root);
  return limit === null ? cores : Math.min(cores, limit);
}

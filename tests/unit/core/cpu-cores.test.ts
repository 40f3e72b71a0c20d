import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { availableCores, cgroupCpuLimit } from '../../../activities/cpu-cores';

test('the cgroup v2 quota caps the cores, rounded up; "max" is no cap', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cgroup-v2-'));
  writeFileSync(path.join(root, 'cpu.max'), '150000 100000\n');
  assert.equal(cgroupCpuLimit(root), 2);
  writeFileSync(path.join(root, 'cpu.max'), '50000 100000\n');
  assert.equal(cgroupCpuLimit(root), 1);
  assert.equal(availableCores(root), 1);
  writeFileSync(path.join(root, 'cpu.max'), 'max 100000\n');
  assert.equal(cgroupCpuLimit(root), null);
  assert.equal(availableCores(root), availableParallelism());
});

test('cgroup v1 quota and period files; -1 and missing files are no cap', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cgroup-v1-'));
  mkdirSync(path.join(root, 'cpu'));
  writeFileSync(path.join(root, 'cpu', 'cpu.cfs_quota_us'), '300000\n');
  writeFileSync(path.join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
  assert.equal(cgroupCpuLimit(root), 3);
  writeFileSync(path.join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
  assert.equal(cgroupCpuLimit(root), null);
  assert.equal(cgroupCpuLimit(path.join(root, 'absent')), null);
});

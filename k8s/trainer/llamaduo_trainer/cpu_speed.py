"""CPU settings that matter when there is no GPU: threads and bf16 autocast.

Weights stay fp32 on CPU (loading.compute_dtype); matmuls run in bf16 under torch.autocast only where the
CPU has native bf16 dot products (AVX-512 BF16 or AMX). Without them bf16 is emulated and slower than fp32.
LLAMADUO_CPU_BF16=0/1 overrides the detection."""

from __future__ import annotations

import contextlib
import os

import torch

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_bf16(flags: set[str] | None = None, env: dict[str, str] | None = None) -> bool:
    override = (env if env is not None else os.environ).get("LLAMADUO_CPU_BF16")
    if override in ("0", "1"):
        return override == "1"
    return any(f in (flags if flags is not None else cpu_flags()) for f in BF16_FLAGS)


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> int | None:
    """The CPU quota of this process's cgroup in whole cores (rounded up), None when unlimited or unknown.

    A Kubernetes CPU limit is a CFS quota, not a cpuset: the affinity mask still lists every core of the
    node, and one thread per node core on a 2-core limit only makes the threads wait for each other."""
    for quota_file, period_file in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            with open(os.path.join(root, quota_file), encoding="utf-8") as f:
                fields = f.read().split()
            if period_file is not None:  # cgroup v1: quota and period in two files, -1 for unlimited
                with open(os.path.join(root, period_file), encoding="utf-8") as f:
                    fields.append(f.read().strip())
        except OSError:
            continue
        if len(fields) < 2 or fields[0] in ("max", "-1"):
            return None
        try:
            quota, period = int(fields[0]), int(fields[1])
        except ValueError:
            return None
        return max(1, -(-quota // period)) if quota > 0 and period > 0 else None
    return None


def available_cores(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity (cpusets included), capped by the cgroup CPU quota; at least 1."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cores = max(1, os.cpu_count() or 1)
    limit = cgroup_cpu_limit(cgroup_root)
    return min(cores, limit) if limit is not None else cores


def configure_threads(device: torch.device) -> int:
    """One intra-op thread per available core unless OMP_NUM_THREADS says otherwise; returns the count."""
    if device.type != "cpu" or os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    n = available_cores()
    torch.set_num_threads(n)
    return n


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 where the CPU computes it natively; None (plain fp32) elsewhere. GPUs load bf16/fp16 weights."""
    return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16() else None


def autocast(device: torch.device):
    dtype = autocast_dtype(device)
    return torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext()

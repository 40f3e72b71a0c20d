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


def available_cores() -> int:
    """CPUs this process may run on (affinity and cgroup cpusets included), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


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

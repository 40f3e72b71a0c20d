"""result.json: what a run did, for the TypeScript side (zod schema TrainerResult in
activities/gpu/trainer-contract.ts). Written atomically so a reader never sees half a file."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from typing import Any

import torch

from . import __version__
from .tmpnames import tmp_name

SCHEMA_VERSION = 1


def versions() -> dict[str, str]:
    out = {"trainer": __version__, "python": platform.python_version(), "torch": torch.__version__}
    for dist in ("transformers", "peft", "accelerate", "bitsandbytes", "vllm"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    if torch.version.cuda:
        out["cuda"] = torch.version.cuda
    return out


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()} x{torch.get_num_threads()} threads"


def write_json_atomic(path: str, data: Any) -> None:
    tmp = tmp_name(path)
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_result(output_dir: str, command: str, status: str, **fields: Any) -> str:
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "result.json")
    body = {"schemaVersion": SCHEMA_VERSION, "command": command, "status": status, **fields}
    body.setdefault("versions", versions())
    write_json_atomic(path, body)
    return path

"""Training checkpoints under <outputDir>/checkpoints/step-NNNNNNNN, written to a temporary folder and
renamed into place, so the latest complete one can always be resumed from (a preempted Job continues)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable

import torch
from peft import set_peft_model_state_dict
from peft.utils import get_peft_model_state_dict

from .tmpnames import tmp_name

KEEP = 2
# Called with (checkpoint folder, step) once a checkpoint is complete on disk (staging.py uploads it).
after_save: list[Callable[[str, int], None]] = []
_NAME = re.compile(r"^step-(\d{8})$")


def _root(output_dir: str) -> str:
    return os.path.join(output_dir, "checkpoints")


def latest(output_dir: str) -> str | None:
    root = _root(output_dir)
    if not os.path.isdir(root):
        return None
    steps = sorted(int(m.group(1)) for n in os.listdir(root) if (m := _NAME.match(n)))
    return os.path.join(root, f"step-{steps[-1]:08d}") if steps else None


def save(output_dir: str, step: int, model, optimizer, scheduler, state: dict) -> str:
    root = _root(output_dir)
    final = os.path.join(root, f"step-{step:08d}")
    tmp = tmp_name(final)
    os.makedirs(tmp)
    torch.save(
        {
            "adapter": get_peft_model_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            "state": state,
        },
        os.path.join(tmp, "trainer_state.pt"),
    )
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _prune(root)
    for listener in after_save:
        listener(final, step)
    return final


def load(path: str, model, optimizer, scheduler) -> dict:
    blob = torch.load(os.path.join(path, "trainer_state.pt"), map_location="cpu", weights_only=False)
    set_peft_model_state_dict(model, blob["adapter"])
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"]["torch"])
    if blob["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["rng"]["cuda"])
    return blob["state"]


# A half-written checkpoint this old belongs to a pod that died mid-write (names are unique per pod, so a live
# writer's folder is never this stale: a checkpoint takes seconds to write).
STALE_TMP_SECONDS = 3600


def _prune(root: str) -> None:
    names = sorted(n for n in os.listdir(root) if _NAME.match(n))
    for name in names[:-KEEP]:
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    now = time.time()
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if ".tmp-" in name and now - os.path.getmtime(path) > STALE_TMP_SECONDS:
            shutil.rmtree(path, ignore_errors=True)

"""Making a run fit in GPU memory: bf16 compute for QLoRA, gradient checkpointing by default where memory is
tight, and the ladder a run steps down when CUDA runs out of memory (checkpointing on, then half the
micro-batch with twice the accumulation, so the optimizer still sees the same tokens per step)."""

from __future__ import annotations

import contextlib
import dataclasses
import gc

import torch

from .spec import FinetuneSpec


@dataclasses.dataclass(frozen=True)
class FitSettings:
    gradientCheckpointing: bool
    batchSize: int
    gradientAccumulation: int


def initial_settings(spec: FinetuneSpec, method: str) -> FitSettings:
    """gradientCheckpointing null means: on for QLoRA (chosen to fit a large model on a small GPU, where
    activations, not the 4-bit weights, are what runs out), off for LoRA (faster when memory allows)."""
    hp = spec.train
    checkpointing = hp.gradientCheckpointing if hp.gradientCheckpointing is not None else method == "qlora"
    return FitSettings(checkpointing, hp.batchSize, hp.gradientAccumulation)


def after_oom(current: FitSettings) -> FitSettings | None:
    """The next rung down, or None when there is none left (checkpointing on and one row per micro-batch)."""
    if not current.gradientCheckpointing:
        return dataclasses.replace(current, gradientCheckpointing=True)
    if current.batchSize > 1:
        half = current.batchSize // 2
        accumulation = current.gradientAccumulation * current.batchSize // half
        return dataclasses.replace(current, batchSize=half, gradientAccumulation=accumulation)
    return None


def is_oom(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError)


def release_memory() -> None:
    """After an out-of-memory step: the failed step's activations are garbage once its frames are gone."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def set_gradient_checkpointing(model, on: bool) -> None:
    """Switches checkpointing on a (PEFT-wrapped) causal LM, also in the middle of a run."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    # Non-reentrant checkpointing needs no inputs that require grad, so frozen embeddings are fine.
    if on:
        base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    elif base.is_activation_checkpointing:
        base.activation_checkpointing_disable()
    base.config.use_cache = False


def cast_frozen_to(model, dtype: torch.dtype) -> int:
    """prepare_model_for_kbit_training upcasts every frozen bf16/fp16 weight that is not 4-bit (embeddings,
    norms, LM head) to fp32, so without this a QLoRA step computes in fp32: slower and larger than the
    bf16 the paper trains in. Casts them back; returns how many tensors changed. The 4-bit weights
    (Params4bit, stored as uint8) and trainable parameters are left as they are."""
    changed = 0
    for param in model.parameters():
        if not param.requires_grad and param.dtype == torch.float32 and dtype != torch.float32:
            param.data = param.data.to(dtype)
            changed += 1
    return changed


def autocast(device: torch.device, dtype: torch.dtype):
    """On CUDA with bf16 weights, matmuls of the fp32 LoRA weights run in bf16 too."""
    if device.type == "cuda" and dtype == torch.bfloat16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device, dtype: torch.dtype, init_scale: float = 2.0**16) -> torch.amp.GradScaler:
    """Loss scaling for fp16 compute (a CUDA GPU without bf16: T4, V100): fp16 activations cannot hold the
    small gradients flowing back to the LoRA weights, which underflow to zero, and a step with inf/NaN
    gradients must be skipped rather than applied. bf16 and fp32 need neither: disabled, it is a no-op."""
    return torch.amp.GradScaler(device.type, init_scale=init_scale, enabled=dtype == torch.float16)

"""The GPU fast path's optional parts, each of which falls back with a stated reason where it cannot run:

- attention: flash_attention_2 needs CUDA and the flash-attn package, else sdpa (packed rows stay isolated
  either way: batching.collate lays a micro-batch out as one varlen row for flash attention, and sdpa,
  eager and flex attention read the position-id restarts as a block-diagonal mask);
- kernels 'liger': Liger's Triton kernels (RMSNorm, RoPE, SwiGLU/GeGLU) patched into the model, and the
  fused linear cross-entropy on the trained positions of packed rows; needs CUDA, triton and liger-kernel;
- compileLayers: torch.compile on each decoder layer (the layers share one graph; LoRA, checkpointing and
  the module names, hence the saved adapter, are unchanged);
- the fused AdamW kernel, on CUDA.

What a run really used goes into result.json as `fastPath`."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .progress import log

# torch.compile's backend for compileLayers; the tests trace with 'eager' (dynamo capture without the
# minutes an inductor build takes on a small CPU).
COMPILE_BACKEND = "inductor"


@dataclass
class FastPath:
    attention: str
    kernels: str = "none"  # what runs: 'liger' or 'none'
    compiledLayers: int = 0
    fusedAdamW: bool = False
    fallbacks: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        return {
            "attention": self.attention,
            "kernels": self.kernels,
            "compiledLayers": self.compiledLayers,
            "fusedAdamW": self.fusedAdamW,
            "fallbacks": list(self.fallbacks),
        }


def attention(requested: str, device: torch.device) -> tuple[str, str | None]:
    """The attention implementation to load and, when it is not the requested one, why."""
    if requested != "flash_attention_2":
        return requested, None
    if device.type != "cuda":
        return "sdpa", "flash_attention_2 needs a CUDA device; running sdpa"
    if importlib.util.find_spec("flash_attn") is None:
        return "sdpa", "flash_attention_2 needs the flash-attn package, which is not installed; running sdpa"
    return requested, None


def liger_unavailable(device: torch.device) -> str | None:
    """Why Liger kernels cannot run here, or None when they can."""
    if device.type != "cuda":
        return "Liger kernels are Triton GPU kernels and need a CUDA device"
    if importlib.util.find_spec("triton") is None:
        return "Liger kernels need triton, which is not installed"
    if importlib.util.find_spec("liger_kernel") is None:
        return "the liger-kernel package is not installed"
    try:
        import liger_kernel.transformers  # noqa: F401
    except Exception as e:  # noqa: BLE001 - a broken triton/CUDA stack shows up as any import error
        return f"liger-kernel failed to import ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return None


def apply_liger(model) -> str | None:
    """Patches Liger's RMSNorm, RoPE and SwiGLU/GeGLU into the (not yet PEFT-wrapped) model; the reason
    when the architecture has no Liger kernels. The loss stays the trainer's (see head_loss)."""
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN, _apply_liger_kernel_to_instance

    model_type = getattr(model.config, "model_type", None)
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        return f"liger-kernel has no kernels for model type {model_type!r}"
    _apply_liger_kernel_to_instance(
        model=model,
        rope=True,
        rms_norm=True,
        swiglu=True,
        geglu=True,
        cross_entropy=False,
        fused_linear_cross_entropy=False,
    )
    return None


HeadLoss = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def plain_head_loss(lm_head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of the LM head on the given hidden states (the trained positions only)."""
    logits = lm_head(hidden).float()
    return torch.nn.functional.cross_entropy(logits, targets, reduction="sum")


def liger_head_loss() -> HeadLoss:
    """The same sum through Liger's fused linear cross-entropy: the logits are computed chunk by chunk and
    never held whole (with a 128k-256k vocabulary they are the largest activation of a step). A head that
    is not a plain Linear (LoRA on lm_head) takes the plain path."""
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    fused = LigerFusedLinearCrossEntropyLoss(reduction="sum")

    def loss(lm_head, hidden, targets):
        if type(lm_head) is not torch.nn.Linear or lm_head.bias is not None:
            return plain_head_loss(lm_head, hidden, targets)
        return fused(lm_head.weight, hidden, targets)

    return loss


def decoder_layers(model) -> list[torch.nn.Module]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    layers = getattr(getattr(base, "model", None), "layers", None)
    return list(layers) if layers is not None else []


def compile_layers(model) -> int:
    """torch.compile on each decoder layer in place (nn.Module.compile keeps the parameter names, so
    checkpoints and the saved adapter are the same as without). Returns how many layers were compiled."""
    layers = decoder_layers(model)
    for layer in layers:
        layer.compile(backend=COMPILE_BACKEND)
    return len(layers)


def prepare(spec, device: torch.device) -> FastPath:
    """The attention implementation and the parts of the fast path this run can use, logged when they
    differ from the spec."""
    attn, why = attention(spec.attnImplementation, device)
    fp = FastPath(attention=attn, fusedAdamW=device.type == "cuda")
    if why:
        fp.fallbacks.append(why)
    if spec.kernels == "liger":
        why = liger_unavailable(device)
        if why:
            fp.fallbacks.append(f"kernels 'liger' requested, running without: {why}")
        else:
            fp.kernels = "liger"
    for line in fp.fallbacks:
        log(line)
    return fp


def patch_model(fp: FastPath, model) -> None:
    """Before the LoRA wrap: Liger kernels into the base model."""
    if fp.kernels == "liger":
        why = apply_liger(model)
        if why:
            fp.kernels = "none"
            fp.fallbacks.append(f"kernels 'liger' requested, running without: {why}")
            log(fp.fallbacks[-1])


def head_loss(fp: FastPath) -> HeadLoss:
    return liger_head_loss() if fp.kernels == "liger" else plain_head_loss

"""Device choice, base model and tokenizer loading, and the QLoRA-or-LoRA decision."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import torch

from . import builtin_models
from .errors import SpecError


def choose_device(preference: str, spec_path: str) -> torch.device:
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    if preference == "cuda":
        raise SpecError(spec_path, "asks for cuda but no CUDA device is visible", field="device")
    return torch.device("cpu")


def compute_dtype(device: torch.device) -> torch.dtype:
    # bf16 on GPUs that have it (the paper's setting); fp32 on CPU, where bf16 matmuls are slow.
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16 if device.type == "cuda" else torch.float32


@dataclass(frozen=True)
class MethodChoice:
    method: str  # what will really run: 'qlora' or 'lora'
    reason: str | None  # why it differs from the request, if it does


def choose_method(requested: str, base_model: str, device: torch.device) -> MethodChoice:
    if requested == "lora":
        return MethodChoice("lora", None)
    if builtin_models.is_builtin(base_model):
        return MethodChoice("lora", "builtin models are built in full precision, not quantized")
    if device.type != "cuda":
        return MethodChoice("lora", "4-bit QLoRA needs a CUDA device; running on CPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        return MethodChoice("lora", "bitsandbytes is not installed")
    return MethodChoice("qlora", None)


def load_tokenizer(base_model: str, spec_path: str):
    if builtin_models.is_builtin(base_model):
        return builtin_models.byte_tokenizer()
    require_model_dir(base_model, spec_path)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_model)
    if not tok.chat_template:
        raise SpecError(spec_path, f"tokenizer at {base_model} has no chat template", field="baseModel")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base_model(base_model: str, spec_path: str, device: torch.device, quantize_4bit: bool, attn: str):
    dtype = compute_dtype(device)
    if builtin_models.is_builtin(base_model):
        try:
            model, _ = builtin_models.build(base_model, dtype)
        except KeyError as e:
            raise SpecError(spec_path, str(e.args[0]), field="baseModel") from e
        model.config._attn_implementation = attn
        return model.to(device)
    require_model_dir(base_model, spec_path)
    from transformers import AutoModelForCausalLM

    kwargs: dict = {"dtype": dtype, "attn_implementation": attn}
    if quantize_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": device.index or 0}
    model = AutoModelForCausalLM.from_pretrained(base_model, **kwargs)
    return model if quantize_4bit else model.to(device)


def require_model_dir(path: str, spec_path: str) -> None:
    if not os.path.isdir(path):
        builtins = ", ".join(builtin_models.PREFIX + k for k in builtin_models.SHAPES)
        raise SpecError(
            spec_path, f"{path!r} is neither a model directory nor a builtin ({builtins})", field="baseModel"
        )

"""What a user serves after training: the merged model (base + adapter, safetensors) and a GGUF file with an
Ollama Modelfile. QLoRA runs merge into the base reloaded in bf16 on the CPU, not into the 4-bit weights
they trained against (rounding the sum back to 4 bits would lose most of what the adapter learned)."""

from __future__ import annotations

import os

import torch

from . import builtin_models, gguf_export, loading, stop_tokens
from .progress import log
from .spec import ExportSpec, FinetuneSpec


def reload_merged(spec: FinetuneSpec | ExportSpec, spec_path: str, adapter_dir: str):
    from peft import PeftModel

    if builtin_models.is_builtin(spec.baseModel):
        base, _ = builtin_models.build(spec.baseModel, torch.float32)
    else:
        from transformers import AutoModelForCausalLM

        loading.require_model_dir(spec.baseModel, spec_path)
        base = AutoModelForCausalLM.from_pretrained(spec.baseModel, dtype=torch.bfloat16)
    return PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()


def wanted(spec: FinetuneSpec | ExportSpec) -> tuple[bool, bool]:
    """(merge, gguf): a finetune spec's mergeWeights/exportGguf, an export spec's merged/gguf."""
    if isinstance(spec, ExportSpec):
        return spec.merged or spec.gguf, spec.gguf
    return spec.mergeWeights or spec.exportGguf, spec.exportGguf


def write_exports(spec: FinetuneSpec | ExportSpec, spec_path: str, adapter_dir: str, tokenizer, trained=None) -> dict:
    """outputs entries: mergedDir, ggufFile and modelfile, or ggufSkipped with the reason."""
    merged = trained.merge_and_unload() if trained is not None else reload_merged(spec, spec_path, adapter_dir)
    merged.eval()
    merge, gguf = wanted(spec)
    out: dict = {}
    if merge:
        merged_dir = os.path.join(spec.outputDir, "merged")
        merged.save_pretrained(merged_dir)
        tokenizer.save_pretrained(merged_dir)
        out["mergedDir"] = merged_dir
    if gguf:
        gguf_dir = os.path.join(spec.outputDir, "gguf")
        os.makedirs(gguf_dir, exist_ok=True)
        name = os.path.basename(spec.baseModel.rstrip("/")).replace("builtin:", "") + "-llamaduo"
        path = os.path.join(gguf_dir, f"{name}.gguf")
        try:
            gguf_export.write_gguf(merged, tokenizer, path, name)
        except gguf_export.Unsupported as e:
            log(f"no GGUF export: {e}")
            out["ggufSkipped"] = str(e)
            return out
        stops = [tokenizer.convert_ids_to_tokens(i) for i in stop_tokens.stop_token_ids(tokenizer, merged)]
        modelfile, no_template = gguf_export.write_modelfile(gguf_dir, path, tokenizer, stops)
        if no_template:
            log(f"Modelfile without TEMPLATE: {no_template}")
        out["ggufFile"] = path
        out["modelfile"] = modelfile
    return out

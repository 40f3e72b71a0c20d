#!/usr/bin/env python3
"""Writes a GGUF chat model as an ordinary transformers model directory (safetensors + tokenizer + chat
template), so the trainer can fine-tune it through its local-directory path.

transformers reads GGUF files through PyPI `gguf` and dequantizes every tensor to full precision; a 4-bit
file therefore gives dequantized 4-bit weights, a little worse than the original bf16 release.

    python convert-gguf-student.py GGUF_FILE OUT_DIR
"""

from __future__ import annotations

import os
import shutil
import sys
import time


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    gguf_path, out_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    t0 = time.monotonic()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    src_dir, name = os.path.split(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
    if not tokenizer.chat_template:
        sys.exit(f"{gguf_path}: the GGUF file carries no chat template")
    # The loaded model remembers it came from GGUF and refuses save_pretrained; its weights are plain
    # dequantized tensors by now, so dropping that marker is all that is needed to save them.
    model.hf_quantizer = None
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(model.config, attr):
            delattr(model.config, attr)
    model.generation_config.eos_token_id = tokenizer.eos_token_id

    partial = f"{out_dir}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(partial, out_dir)
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out_dir}: {params / 1e6:.1f}M parameters in {time.monotonic() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

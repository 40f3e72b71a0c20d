"""Generation through vLLM (continuous batching, paged KV cache) with the fine-tuned adapter applied as a
LoRA, when vLLM is installed and a CUDA device is visible. vLLM is imported only here and only when this
engine runs: the trainer image and the CPU tests do without it."""

from __future__ import annotations

import importlib.util
import json
import os

import torch

from .stop_tokens import cut_at_stop

# vLLM sizes its LoRA buffers by max_lora_rank, which must be one of these.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def unavailable(base_model: str, device: torch.device) -> str | None:
    """Why the vLLM engine cannot run this spec here, or None when it can."""
    if device.type != "cuda":
        return "vLLM needs a CUDA device"
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed"
    if not os.path.isdir(base_model):
        return f"vLLM loads a model directory, and {base_model!r} is not one (builtin models run on transformers)"
    return None


def lora_rank(adapter_dir: str) -> int:
    """The adapter's rank rounded up to a size vLLM accepts."""
    with open(os.path.join(adapter_dir, "adapter_config.json"), encoding="utf-8") as f:
        rank = int(json.load(f)["r"])
    return next((r for r in VLLM_LORA_RANKS if r >= rank), rank)


def generate(spec, prompts: list[list[int]], stops: list[int], tokenizer) -> tuple[dict[int, list[str]], int]:
    """Texts per prompt index (responsesPerPrompt each) and the new tokens produced, cut at the first stop
    token as the transformers engine cuts them."""
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    s = spec.sampling
    kwargs = {}
    lora_request = None
    if spec.adapterDir:
        from vllm.lora.request import LoRARequest

        kwargs.update(enable_lora=True, max_lora_rank=lora_rank(spec.adapterDir), max_loras=1)
        lora_request = LoRARequest("adapter", 1, spec.adapterDir)
    llm = LLM(
        model=spec.baseModel,
        tokenizer=spec.adapterDir if spec.adapterDir and _has_tokenizer(spec.adapterDir) else spec.baseModel,
        dtype="bfloat16" if torch.cuda.is_bf16_supported() else "float16",
        seed=s.seed,
        max_model_len=spec.maxPromptTokens + s.maxNewTokens,
        **kwargs,
    )
    # Greedy gives one answer; it is written responsesPerPrompt times, as on the transformers engine.
    n_seq = s.responsesPerPrompt if s.temperature > 0 else 1
    params = SamplingParams(
        n=n_seq,
        temperature=s.temperature,
        top_p=s.topP if s.temperature > 0 else 1.0,
        max_tokens=s.maxNewTokens,
        stop_token_ids=stops,
        seed=s.seed,
    )
    outputs = llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, lora_request=lora_request)
    texts: dict[int, list[str]] = {}
    new_tokens = 0
    for i, request in enumerate(outputs):
        for completion in request.outputs:
            tokens, produced = cut_at_stop(list(completion.token_ids), stops)
            new_tokens += produced
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            texts.setdefault(i, []).extend([text] * (s.responsesPerPrompt // n_seq))
    return texts, new_tokens


def _has_tokenizer(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "tokenizer_config.json"))

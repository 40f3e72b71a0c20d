"""Batched sampling of N responses per test prompt with the fine-tuned adapter. The transformers engine:
prompts sorted by length so each left-padded batch wastes little, KV cache on, one seeded RNG stream; the
vLLM engine (vllm_engine.py) where vLLM and a CUDA device are there."""

from __future__ import annotations

import json
import os
import time

import torch

from . import cpu_speed, fit, loading, vllm_engine
from .chat_tokens import prompt_ids
from .manifest import device_name, write_result
from .progress import Eta, emit, log
from .records import prompt_messages, read_conversations
from .spec import GenerateSpec
from .stop_tokens import cut_at_stop, stop_token_ids
from .tmpnames import tmp_name


def load_tokenizer(spec: GenerateSpec, spec_path: str):
    tokenizer_source = spec.adapterDir if spec.adapterDir and _has_tokenizer(spec.adapterDir) else spec.baseModel
    return loading.load_tokenizer(tokenizer_source, spec_path)


def require_adapter(spec: GenerateSpec, spec_path: str) -> None:
    if spec.adapterDir and not os.path.isfile(os.path.join(spec.adapterDir, "adapter_config.json")):
        from .errors import SpecError

        raise SpecError(spec_path, f"{spec.adapterDir} holds no PEFT adapter (adapter_config.json)", field="adapterDir")


def choose_engine(spec: GenerateSpec, device: torch.device, spec_path: str) -> tuple[str, str | None]:
    """'vllm' or 'transformers', and why vLLM is not used where it was asked for or could have been."""
    if spec.engine == "transformers":
        return "transformers", None
    why = vllm_engine.unavailable(spec.baseModel, device)
    if why is None:
        return "vllm", None
    if spec.engine == "vllm":
        from .errors import SpecError

        raise SpecError(spec_path, f"engine vllm cannot run here: {why}", field="engine")
    return "transformers", why


def load_model(spec: GenerateSpec, spec_path: str, device: torch.device):
    tokenizer = load_tokenizer(spec, spec_path)
    model = loading.load_base_model(spec.baseModel, spec_path, device, quantize_4bit=False, attn="sdpa")
    if spec.adapterDir:
        require_adapter(spec, spec_path)
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, spec.adapterDir).merge_and_unload()
    model.eval()
    return model, tokenizer


def _has_tokenizer(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "tokenizer_config.json"))


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def run_generate(spec: GenerateSpec, spec_path: str) -> dict:
    t0 = time.monotonic()
    s = spec.sampling
    device = loading.choose_device(spec.device, spec_path)
    threads = cpu_speed.configure_threads(device)
    autocast_dtype = cpu_speed.autocast_dtype(device)
    conversations = read_conversations(spec.prompts, require_response=False)
    engine, engine_reason = choose_engine(spec, device, spec_path)
    if engine == "vllm":
        require_adapter(spec, spec_path)
        tokenizer = load_tokenizer(spec, spec_path)
        model = _GenerationConfigOnly(spec.baseModel)
    else:
        model, tokenizer = load_model(spec, spec_path, device)
    prompts = [prompt_ids(tokenizer, prompt_messages(c), spec.maxPromptTokens) for c in conversations]
    stops = stop_token_ids(tokenizer, model)
    load_s = time.monotonic() - t0
    gen_start = time.monotonic()
    fit_body = None
    if engine == "vllm":
        texts, new_tokens = vllm_engine.generate(spec, prompts, stops, tokenizer)
        rate = round(new_tokens / max(time.monotonic() - gen_start, 1e-9), 1)
        emit("progress", done=len(prompts), total=len(prompts), tokens_per_s=rate, eta_s=0)
    else:
        texts, new_tokens, fit_body = _generate_transformers(spec, model, tokenizer, prompts, stops, device, gen_start)
    gen_s = time.monotonic() - gen_start

    os.makedirs(spec.outputDir, exist_ok=True)
    out_path = os.path.join(spec.outputDir, "generations.jsonl")
    tmp = tmp_name(out_path)
    with open(tmp, "w", encoding="utf-8") as f:
        for i, conv in enumerate(conversations):
            for sample, text in enumerate(texts[i]):
                f.write(json.dumps({"promptId": conv.id, "sample": sample, "text": text}, ensure_ascii=False) + "\n")
    os.replace(tmp, out_path)

    body = dict(
        engine=engine,
        **({"engineReason": engine_reason} if engine_reason else {}),
        baseModel=spec.baseModel,
        adapterDir=spec.adapterDir,
        device=device_name(device),
        dtype=str(loading.compute_dtype(device)).replace("torch.", ""),
        autocast=str(autocast_dtype).replace("torch.", "") if autocast_dtype else None,
        threads=threads if device.type == "cpu" else None,
        metrics={
            "prompts": len(conversations),
            "samples": len(conversations) * s.responsesPerPrompt,
            "newTokens": new_tokens,
        },
        tokensPerSecond=round(new_tokens / gen_s, 1) if gen_s > 0 else None,
        durations={
            "loadSeconds": round(load_s, 3),
            "generateSeconds": round(gen_s, 3),
            "totalSeconds": round(time.monotonic() - t0, 3),
        },
        outputs={"generations": out_path},
        # transformers engine: the prompts per batch it finished with, lower than the spec's after CUDA ran
        # out of memory (each time in oomRetries)
        **({"fit": fit_body} if fit_body else {}),
    )
    write_result(spec.outputDir, "generate", "succeeded", **body)
    emit("done", status="succeeded", result=os.path.join(spec.outputDir, "result.json"))
    return {"status": "succeeded", **body}


def _generate_transformers(spec, model, tokenizer, prompts, stops, device, gen_start) -> tuple[dict, int, dict]:
    """Texts per prompt index, new tokens, and the fit: the batch size the run finished with and each time
    CUDA ran out of memory (the batch is halved and the same prompts tried again, down to one prompt)."""
    s = spec.sampling
    order = sorted(range(len(prompts)), key=lambda i: (-len(prompts[i]), i))

    torch.manual_seed(s.seed)
    texts: dict[int, list[str]] = {}
    new_tokens = 0
    eta = Eta(len(order), 0, gen_start)
    # Greedy decoding gives the same answer every time (and transformers rejects several greedy
    # return sequences): generate once, write it responsesPerPrompt times.
    n_seq = s.responsesPerPrompt if s.temperature > 0 else 1
    sampling = (
        {"do_sample": True, "temperature": s.temperature, "top_p": s.topP}
        if s.temperature > 0
        else {"do_sample": False}
    )
    batch_size = s.batchSize
    retries: list[dict] = []
    start = 0
    while start < len(order):
        chunk = order[start : start + batch_size]
        ids, mask = _left_pad([prompts[i] for i in chunk], tokenizer.pad_token_id)
        out_of_memory = None
        try:
            with torch.inference_mode(), cpu_speed.autocast(device):
                out = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    max_new_tokens=s.maxNewTokens,
                    num_return_sequences=n_seq,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=stops,
                    use_cache=True,
                    **sampling,
                )
        except Exception as e:  # noqa: BLE001 - only an out-of-memory error is handled, the rest re-raised
            if not fit.is_oom(e):
                raise
            out_of_memory = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        if out_of_memory:
            # Outside the except block, so the failed batch's KV cache is freed with its frames.
            out = None
            fit.release_memory()
            if batch_size == 1:
                raise torch.OutOfMemoryError(
                    f"{out_of_memory} generating {n_seq} sequence(s) for one prompt: lower maxNewTokens, "
                    "maxPromptTokens or responsesPerPrompt, or use a larger GPU"
                )
            retries.append({"done": start, "batchSize": batch_size, "error": out_of_memory})
            log(f"out of memory generating {len(chunk)} prompts; retrying with {batch_size // 2}")
            batch_size //= 2
            continue
        completions = out[:, ids.shape[1] :].cpu()
        for row, seq in enumerate(completions):
            tokens, produced = cut_at_stop(seq.tolist(), stops)
            new_tokens += produced
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            texts.setdefault(chunk[row // n_seq], []).extend([text] * (s.responsesPerPrompt // n_seq))
        start += len(chunk)
        now = time.monotonic()
        emit(
            "progress",
            done=start,
            total=len(order),
            tokens_per_s=round(new_tokens / max(now - gen_start, 1e-9), 1),
            eta_s=eta.seconds(start, now),
        )
    return texts, new_tokens, {"batchSize": batch_size, "oomRetries": retries}


class _GenerationConfigOnly:
    """The model's generation_config (its stop list) without loading the weights, for the vLLM engine."""

    def __init__(self, model_dir: str):
        from transformers import GenerationConfig

        try:
            self.generation_config = GenerationConfig.from_pretrained(model_dir)
        except OSError:  # no generation_config.json: the tokenizer's eos and the template's end of turn
            self.generation_config = None

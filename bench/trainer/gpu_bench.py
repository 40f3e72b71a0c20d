"""Fine-tuning and generation throughput of the trainer's layout against the naive baseline.

Randomly initialised models shaped like Gemma 2B and Llama 3 8B (built from config, no weights), LoRA on
all linear layers, sequences up to 1024 tokens with a fixed, seeded length distribution. Prints one JSON
line per measurement; docs/benchmarks.md (Trainer benchmarks) says how to read them.

  naive      HF model + peft LoRA, bf16, gradient checkpointing, batches padded to the longest sequence
  packed     the trainer's layout: rows of --seq tokens packed with whole documents, position ids
             restarting per document (sdpa turns them into a block-diagonal mask, flex_attention and
             flash_attention_2 skip the masked blocks), no checkpointing, LM head run only where a
             label is trained, fused AdamW
  qlora-mem  peak memory of a QLoRA step on the 8B shape (needs bitsandbytes; else a 'skipped' line)
  generate   new tokens/s with a KV cache, batch 1 and a large batch

  python bench/trainer/gpu_bench.py                 # on the GPU
  python bench/trainer/gpu_bench.py --smoke         # tiny shapes on CPU, checks the script end to end
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import tempfile
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, GemmaConfig, LlamaConfig

IGNORE = -100

SHAPES = {
    "gemma-2b": lambda: GemmaConfig(
        vocab_size=256000,
        hidden_size=2048,
        intermediate_size=16384,
        num_hidden_layers=18,
        num_attention_heads=8,
        num_key_value_heads=1,
        head_dim=256,
        max_position_embeddings=8192,
    ),
    "llama-3-8b": lambda: LlamaConfig(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rope_theta=500000.0,
    ),
    # --smoke: same architectures, tiny.
    "gemma-tiny": lambda: GemmaConfig(
        vocab_size=1024,
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
    ),
    "llama-tiny": lambda: LlamaConfig(
        vocab_size=1024,
        hidden_size=64,
        intermediate_size=224,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    ),
}

DEFAULT_ROWS = {"gemma-2b": 8, "llama-3-8b": 4}

# Dense bf16 peak of the device, for MFU.
PEAK_TFLOPS = {
    "H100 SXM": 989.4,
    "H100 80GB HBM3": 989.4,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H200": 989.4,
    "A100": 312.0,
    "L4": 121.0,
}


def out(**fields) -> None:
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def device_info(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return "cpu", None
    name = torch.cuda.get_device_name(device)
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return name, peak


def sample_lengths(n: int, max_len: int, seed: int) -> list[int]:
    """Chat SFT-like lengths: log-normal around a median of max_len/3.5, clipped to [32, max_len]."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.exp(torch.randn(n, generator=g) * 0.7 + math.log(max_len / 3.5))
    return [int(min(max(x, 32), max_len)) for x in raw.tolist()]


def make_docs(lengths: list[int], vocab: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(ids, labels) per document; the first 40 % (the prompt) carries no label."""
    g = torch.Generator().manual_seed(seed)
    docs = []
    for n in lengths:
        ids = torch.randint(3, vocab, (n,), generator=g)
        labels = ids.clone()
        labels[: max(1, int(0.4 * n))] = IGNORE
        docs.append((ids, labels))
    return docs


def matmul_params(config) -> int:
    h, i, layers = (
        config.hidden_size,
        config.intermediate_size,
        config.num_hidden_layers,
    )
    hd = getattr(config, "head_dim", None) or h // config.num_attention_heads
    q, kv = config.num_attention_heads * hd, config.num_key_value_heads * hd
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * i
    return layers * per_layer + h * config.vocab_size  # + lm_head


def train_flops(config, lengths: list[int], logits_fraction: float) -> tuple[float, float]:
    """Model FLOPs of one pass over documents (recompute not counted). LoRA freezes the base weights, so
    backward costs one extra matmul per linear (input grads), not two: 4·N per token, attention
    3x its forward. Also returns the common 6·N estimate for comparison with other reports."""
    hd = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    q = config.num_attention_heads * hd
    n = matmul_params(config)
    head = config.hidden_size * config.vocab_size
    tokens = sum(lengths)
    attn_fwd = sum(2 * 2 * config.num_hidden_layers * q * (L * (L + 1) / 2) for L in lengths)
    lora_aware = 4 * (n - head) * tokens + 4 * head * tokens * logits_fraction + 3 * attn_fwd
    six_n = 6 * n * tokens + 3 * attn_fwd
    return lora_aware, six_n


def lora(model, rank: int, checkpointing: bool):
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    cfg = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.05,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def build(shape: str, device: torch.device, dtype: torch.dtype, attn: str):
    config = SHAPES[shape]()
    config._attn_implementation = attn
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model, config


def naive_batches(docs, batch: int, pad_id: int):
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        width = max(len(d[0]) for d in chunk)
        ids = torch.full((len(chunk), width), pad_id)
        labels = torch.full((len(chunk), width), IGNORE)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, (d_ids, d_labels) in enumerate(chunk):
            ids[r, : len(d_ids)] = d_ids
            labels[r, : len(d_ids)] = d_labels
            mask[r, : len(d_ids)] = 1
        yield (
            {"input_ids": ids, "attention_mask": mask, "labels": labels},
            int(mask.sum()),
            [len(d[0]) for d in chunk],
        )


def packed_rows(docs, row_len: int) -> list[list]:
    """First fit of documents into rows of at most row_len tokens (the trainer's layout)."""
    rows, room = [], []
    for d in docs:
        n = len(d[0])
        for r in range(max(0, len(rows) - 32), len(rows)):
            if n <= room[r]:
                rows[r].append(d)
                room[r] -= n
                break
        else:
            rows.append([d])
            room.append(row_len - n)
    return rows


def packed_batches(docs, row_len: int, rows_per_batch: int):
    rows = packed_rows(docs, row_len)
    for i in range(0, len(rows), rows_per_batch):
        group = rows[i : i + rows_per_batch]
        width = max(sum(len(d[0]) for d in row) for row in group)
        ids, labels, pos, real = [], [], [], 0
        for row in group:
            r_ids = torch.cat([d[0] for d in row])
            r_lab = torch.cat([torch.cat([torch.tensor([IGNORE]), d[1][1:]]) for d in row])
            r_pos = torch.cat([torch.arange(len(d[0])) for d in row])
            fill = width - len(r_ids)
            real += len(r_ids)
            ids.append(torch.cat([r_ids, torch.zeros(fill, dtype=r_ids.dtype)]))
            labels.append(torch.cat([r_lab, torch.full((fill,), IGNORE)]))
            pos.append(torch.cat([r_pos, torch.arange(fill)]))
        batch = {
            "input_ids": torch.stack(ids),
            "position_ids": torch.stack(pos),
            "labels": torch.stack(labels),
        }
        yield batch, real, [len(d[0]) for row in group for d in row]


def packed_loss(model, batch):
    """As the trainer does it: the decoder stack on packed rows, then the LM head only on positions
    whose next token is trained (no logits for prompt tokens or row fill)."""
    causal_lm = model.get_base_model()
    hidden = causal_lm.model(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        use_cache=False,
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    trained = targets != IGNORE
    logits = causal_lm.lm_head(hidden[:, :-1][trained]).float()
    return torch.nn.functional.cross_entropy(logits, targets[trained])


def time_training(model, batches, step_fn, warmup: int, device) -> tuple[float, int, int]:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, fused=device.type == "cuda")
    done_tokens, steps, t0 = 0, 0, None
    for k, (batch, real_tokens, _lengths) in enumerate(batches):
        if k == warmup:
            sync(device)
            t0 = time.perf_counter()
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
        batch = {key: v.to(device) for key, v in batch.items()}
        loss = step_fn(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if t0 is not None:
            done_tokens += real_tokens
            steps += 1
    sync(device)
    return time.perf_counter() - t0, done_tokens, steps


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gb(device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None


def bench_finetune(shape, variant, args, device, dtype, devname, peak):
    lengths = sample_lengths(args.docs, args.seq, seed=1)
    attn = args.attn if variant == "packed" else "sdpa"
    model, config = build(shape, device, dtype, attn)
    docs = make_docs(lengths, config.vocab_size, seed=2)
    # Warm-up batches come first in the stream and are excluded from the timing and the FLOP count.
    if variant == "naive":
        model = lora(model, args.rank, checkpointing=True)
        model.train()
        all_batches = list(naive_batches(docs, args.batch, pad_id=0))
        step_fn = lambda m, b: m(**b, use_cache=False).loss  # noqa: E731
        logits_fraction = 1.0
        layout = {
            "batch": args.batch,
            "padding": "longest",
            "gradient_checkpointing": True,
        }
    else:
        model = lora(model, args.rank, checkpointing=args.packed_checkpointing)
        model.train()
        rows = args.rows or DEFAULT_ROWS.get(shape, 4)
        all_batches = list(packed_batches(docs, args.seq, rows))
        step_fn = packed_loss
        logits_fraction = 0.6
        layout = {
            "rows": rows,
            "row_tokens": args.seq,
            "attn": attn,
            "gradient_checkpointing": args.packed_checkpointing,
        }
    timed_lengths = [n for _, _, lengths in all_batches[args.warmup :] for n in lengths]
    seconds, tokens, steps = time_training(model, all_batches, step_fn, args.warmup, device)
    flops, flops_6n = train_flops(config, timed_lengths, logits_fraction)
    padded = sum(b["input_ids"].numel() for b, _, _ in all_batches[args.warmup :])
    out(
        bench="finetune",
        shape=shape,
        variant=variant,
        device=devname,
        seq=args.seq,
        dtype=str(dtype)[6:],
        tokens_per_s=round(tokens / seconds, 1),
        steps=steps,
        tokens=tokens,
        seconds=round(seconds, 3),
        padding_fraction=round(1 - tokens / padded, 3),
        mfu=round(flops / seconds / (peak * 1e12), 4) if peak else None,
        mfu_6n=round(flops_6n / seconds / (peak * 1e12), 4) if peak else None,
        peak_mem_gb=peak_gb(device),
        lora_rank=args.rank,
        mean_len=round(sum(lengths) / len(lengths), 1),
        **layout,
    )
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()


def bench_generate(shape, args, device, dtype, devname):
    model, config = build(shape, device, dtype, "sdpa")
    model.eval()
    for batch in args.gen_batches:
        ids = torch.randint(3, config.vocab_size, (batch, args.gen_prompt), device=device)
        kwargs = dict(
            max_new_tokens=args.gen_new,
            min_new_tokens=args.gen_new,
            do_sample=False,
            use_cache=True,
            pad_token_id=0,
            attention_mask=torch.ones_like(ids),
        )
        with torch.inference_mode():
            model.generate(ids, **{**kwargs, "max_new_tokens": 4, "min_new_tokens": 4})  # warm-up
            sync(device)
            t0 = time.perf_counter()
            model.generate(ids, **kwargs)
            sync(device)
        seconds = time.perf_counter() - t0
        out(
            bench="generate",
            shape=shape,
            device=devname,
            dtype=str(dtype)[6:],
            batch=batch,
            prompt_tokens=args.gen_prompt,
            new_tokens=args.gen_new,
            tokens_per_s=round(batch * args.gen_new / seconds, 1),
            seconds=round(seconds, 3),
            peak_mem_gb=peak_gb(device),
        )
    del model


def bench_qlora_memory(shape, args, device, devname):
    if device.type != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
        out(
            bench="qlora-mem",
            shape=shape,
            device=devname,
            skipped="bitsandbytes not installed or no CUDA device",
        )
        return
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    model, config = build(shape, torch.device("cpu"), torch.bfloat16, "sdpa")
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        model.save_pretrained(tmp)
        del model
        torch.cuda.reset_peak_memory_stats(device)
        q = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = AutoModelForCausalLM.from_pretrained(
            tmp,
            quantization_config=q,
            device_map={"": 0},
            dtype=torch.bfloat16,
            attn_implementation="sdpa",
        )
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    model = lora(model, args.rank, checkpointing=False)
    model.train()
    docs = make_docs(sample_lengths(args.docs, args.seq, seed=1), config.vocab_size, seed=2)
    batches = list(packed_batches(docs, args.seq, 1))[: args.warmup + 3]
    seconds, tokens, steps = time_training(model, batches, packed_loss, args.warmup, device)
    out(
        bench="qlora-mem",
        shape=shape,
        device=devname,
        seq=args.seq,
        row_tokens=args.seq,
        peak_mem_gb=peak_gb(device),
        tokens_per_s=round(tokens / seconds, 1),
        steps=steps,
        target_gb=24,
        fits_l4=peak_gb(device) <= 24,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny shapes on CPU, a few steps")
    p.add_argument("--shapes", default="gemma-2b,llama-3-8b")
    p.add_argument("--variants", default="naive,packed")
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument(
        "--docs",
        type=int,
        default=320,
        help="documents per measurement (warm-up included)",
    )
    p.add_argument("--batch", type=int, default=8, help="naive: sequences per padded batch")
    p.add_argument(
        "--rows",
        type=int,
        default=None,
        help="packed: rows of --seq tokens per micro-batch (default: 8 for gemma-2b, 4 for llama-3-8b, "
        "sized so activations without checkpointing fit 80 GB)",
    )
    p.add_argument(
        "--attn",
        default="sdpa",
        choices=["sdpa", "flex_attention", "flash_attention_2"],
    )
    p.add_argument("--packed-checkpointing", action="store_true")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--gen-batches", default="1,64")
    p.add_argument("--gen-prompt", type=int, default=256)
    p.add_argument("--gen-new", type=int, default=256)
    p.add_argument("--skip", default="", help="comma list of: finetune,generate,qlora")
    p.add_argument("--scratch", default=os.environ.get("TMPDIR", "/tmp"))
    args = p.parse_args()
    if args.smoke:
        args.shapes = "gemma-tiny,llama-tiny"
        args.seq, args.docs, args.warmup = 128, 48, 1
        args.gen_prompt, args.gen_new, args.gen_batches = 16, 8, "1,4"
    args.gen_batches = [int(x) for x in args.gen_batches.split(",")]
    skip = set(filter(None, args.skip.split(",")))

    device = torch.device("cuda" if torch.cuda.is_available() and not args.smoke else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    devname, peak = device_info(device)
    out(
        bench="env",
        device=devname,
        peak_bf16_tflops=peak,
        torch=torch.__version__,
        transformers=__import__("transformers").__version__,
        peft=__import__("peft").__version__,
        bitsandbytes=importlib.util.find_spec("bitsandbytes") is not None,
    )
    for shape in args.shapes.split(","):
        if "finetune" not in skip:
            for variant in args.variants.split(","):
                with _report_failure(bench="finetune", shape=shape, variant=variant):
                    bench_finetune(shape, variant, args, device, dtype, devname, peak)
        if "generate" not in skip:
            with _report_failure(bench="generate", shape=shape):
                bench_generate(shape, args, device, dtype, devname)
    if "qlora" not in skip:
        with _report_failure(bench="qlora-mem", shape="llama-3-8b"):
            bench_qlora_memory("llama-tiny" if args.smoke else "llama-3-8b", args, device, devname)


@contextlib.contextmanager
def _report_failure(**fields):
    """One failed measurement (out of memory, a missing kernel) is a JSON line too, not the end of the run."""
    try:
        yield
    except Exception as e:  # noqa: BLE001
        out(**fields, error=f"{type(e).__name__}: {str(e)[:300]}")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()

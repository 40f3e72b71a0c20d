"""Fine-tuning and generation throughput of the trainer's own code, four layouts side by side.

Randomly initialised models shaped like Gemma 2B and Llama 3 8B (built from config, no weights), LoRA on
all linear layers, sequences up to 1024 tokens with a fixed, seeded length distribution. Every arm runs the
trainer's code (k8s/trainer/llamaduo_trainer): its Example records, batching.plan_epoch/collate (padded
batches or packed rows), finetune.attach_lora, fit.set_gradient_checkpointing and fit.autocast,
finetune.micro_batch_loss with fast_path's head loss, the fused AdamW the trainer uses on CUDA, and
fast_path's fallbacks for --attn / --kernels / --compile. Prints one JSON line per measurement;
docs/benchmarks.md (Trainer benchmarks) says how to read them.

  naive           padded batches of --batch sequences, gradient checkpointing, full-vocabulary logits
  naive-nockpt    the same without gradient checkpointing
  packed-ckpt     the trainer's packed rows (--rows rows of --seq tokens, position ids restarting per
                  document, LM head only on trained positions) with gradient checkpointing
  packed          the same without checkpointing (the trainer's LoRA default)
  qlora           the trainer's QLoRA defaults on the 8B shape: NF4 + double quantisation loaded by
                  loading.load_base_model, bf16 compute, checkpointing on, 4 packed rows of 1024 tokens per
                  micro-batch; tokens/s and peak memory (needs CUDA and bitsandbytes, else a 'skipped' line)
  generate        new tokens/s with a KV cache, batch 1 and a large batch

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
import sys
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM, GemmaConfig, LlamaConfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "k8s", "trainer"))

from llamaduo_trainer import batching, fast_path, finetune, fit, loading  # noqa: E402
from llamaduo_trainer.chat_tokens import IGNORE, Example  # noqa: E402
from llamaduo_trainer.spec import FinetuneSpec  # noqa: E402

ARMS = {
    # name: (packing, gradient checkpointing)
    "naive": (False, True),
    "naive-nockpt": (False, False),
    "packed-ckpt": (True, True),
    "packed": (True, False),
}

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


def make_examples(lengths: list[int], vocab: int, seed: int) -> list[Example]:
    """The trainer's records: token ids, and labels on the last 60 % of each document (the answer)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        ids = torch.randint(3, vocab, (n,), generator=g).tolist()
        prompt = max(1, int(0.4 * n))
        out.append(Example(input_ids=ids, labels=[IGNORE] * prompt + ids[prompt:]))
    return out


def trainer_spec(args, packing: bool, checkpointing: bool, **top) -> FinetuneSpec:
    """A finetune spec as the workflow would write it, for the trainer functions that read one."""
    return FinetuneSpec.model_validate(
        {
            "baseModel": "builtin:tiny-random-llama",
            "datasets": ["/dev/null"],
            "outputDir": args.scratch,
            "method": "lora",
            "lora": {"rank": args.rank, "alpha": 2 * args.rank, "dropout": 0.05},
            "train": {"packing": packing, "gradientCheckpointing": checkpointing, "maxSeqLength": args.seq},
            "attnImplementation": args.attn,
            "kernels": args.kernels,
            "compileLayers": args.compile,
            **top,
        }
    )


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


def build(shape: str, device: torch.device, dtype: torch.dtype, attn: str):
    config = SHAPES[shape]()
    config._attn_implementation = attn
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model, config


def time_training(model, examples, plan, fp, device, dtype, pad_id: int, warmup: int):
    """Steps of one micro-batch each, as the trainer runs them; the first `warmup` are not timed.
    Returns seconds, real tokens, trained tokens, steps and the lengths of the timed documents."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, fused=fp.fusedAdamW or None)
    head_loss = fast_path.head_loss(fp)
    tokens = trained = steps = 0
    lengths: list[int] = []
    computed = 0
    t0 = None
    for k, item in enumerate(plan):
        if k == warmup:
            sync(device)
            t0 = time.perf_counter()
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
        batch = batching.collate(examples, item, fp_packing(item), pad_id, fp.attention).to(device)
        with fit.autocast(device, dtype):
            loss = finetune.micro_batch_loss(model, batch, batch.trained_tokens, head_loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if t0 is not None:
            tokens += batch.tokens
            trained += batch.trained_tokens
            computed += batch.input_ids.numel()
            steps += 1
            flat = [i for row in item for i in row] if item and isinstance(item[0], list) else item
            lengths += [len(examples[i].input_ids) for i in flat]
    sync(device)
    return time.perf_counter() - t0, tokens, trained, computed, steps, lengths


def fp_packing(plan_item) -> bool:
    """A packed plan item is a list of rows (lists of example indices); a padded one a list of indices."""
    return bool(plan_item) and isinstance(plan_item[0], list)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gb(device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None


def bench_finetune(shape, arm, args, device, dtype, devname, peak):
    packing, checkpointing = ARMS[arm]
    spec = trainer_spec(args, packing, checkpointing)
    fp = fast_path.prepare(spec, device)
    lengths = sample_lengths(args.docs, args.seq, seed=1)
    model, config = build(shape, device, dtype, fp.attention)
    fast_path.patch_model(fp, model)
    model = finetune.attach_lora(model, spec, False, dtype, checkpointing)
    if spec.compileLayers:
        fp.compiledLayers = fast_path.compile_layers(model)
    model.train()
    examples = make_examples(lengths, config.vocab_size, seed=2)
    rows = args.rows or DEFAULT_ROWS.get(shape, 4)
    size = rows if packing else args.batch
    plan = batching.plan_epoch(examples, 0, 0, packing, size, args.seq)
    seconds, tokens, trained, computed, steps, timed = time_training(
        model, examples, plan, fp, device, dtype, pad_id=0, warmup=args.warmup
    )
    # Unpacked, the model computes logits for every position; packed, only where a label is trained.
    logits_fraction = trained / tokens if packing and tokens else 1.0
    flops, flops_6n = train_flops(config, timed, logits_fraction)
    out(
        bench="finetune",
        shape=shape,
        variant=arm,
        device=devname,
        seq=args.seq,
        dtype=str(dtype)[6:],
        tokens_per_s=round(tokens / seconds, 1),
        trained_tokens_per_s=round(trained / seconds, 1),
        steps=steps,
        tokens=tokens,
        seconds=round(seconds, 3),
        padding_fraction=round(1 - tokens / computed, 3) if computed else None,
        mfu=round(flops / seconds / (peak * 1e12), 4) if peak else None,
        mfu_6n=round(flops_6n / seconds / (peak * 1e12), 4) if peak else None,
        peak_mem_gb=peak_gb(device),
        lora_rank=args.rank,
        mean_len=round(sum(lengths) / len(lengths), 1),
        gradient_checkpointing=checkpointing,
        **({"rows": rows, "row_tokens": args.seq} if packing else {"batch": args.batch, "padding": "longest"}),
        fast_path=fp.manifest(),
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


def bench_qlora(shape, args, device, devname):
    """The trainer's QLoRA path with its defaults: what finetune.run_finetune does up to the training loop."""
    spec = trainer_spec(args, True, None, method="qlora")
    choice = loading.choose_method("qlora", args.scratch, device)
    if choice.method != "qlora":
        out(bench="qlora", shape=shape, device=devname, skipped=choice.reason)
        return
    hp = spec.train
    settings = fit.initial_settings(spec, "qlora")
    fp = fast_path.prepare(spec, device)
    dtype = loading.compute_dtype(device)
    model, config = build(shape, torch.device("cpu"), torch.bfloat16, "sdpa")
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        model.save_pretrained(tmp)
        del model
        torch.cuda.reset_peak_memory_stats(device)
        model = loading.load_base_model(tmp, "bench", device, True, fp.attention)
    fast_path.patch_model(fp, model)
    model = finetune.attach_lora(model, spec, True, dtype, settings.gradientCheckpointing)
    if spec.compileLayers:
        fp.compiledLayers = fast_path.compile_layers(model)
    model.train()
    examples = make_examples(sample_lengths(args.docs, hp.maxSeqLength, seed=1), config.vocab_size, seed=2)
    plan = batching.plan_epoch(examples, 0, 0, True, settings.batchSize, hp.maxSeqLength)[: args.warmup + 4]
    seconds, tokens, trained, _, steps, _ = time_training(
        model, examples, plan, fp, device, dtype, pad_id=0, warmup=args.warmup
    )
    out(
        bench="qlora",
        shape=shape,
        device=devname,
        row_tokens=hp.maxSeqLength,
        rows=settings.batchSize,
        gradient_checkpointing=settings.gradientCheckpointing,
        peak_mem_gb=peak_gb(device),
        tokens_per_s=round(tokens / seconds, 1),
        trained_tokens_per_s=round(trained / seconds, 1),
        steps=steps,
        target_gb=24,
        fits_l4=peak_gb(device) <= 24,
        fast_path=fp.manifest(),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny shapes on CPU, a few steps")
    p.add_argument("--shapes", default="gemma-2b,llama-3-8b")
    p.add_argument("--variants", default=",".join(ARMS), help=f"comma list of: {', '.join(ARMS)}")
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
        choices=["sdpa", "eager", "flex_attention", "flash_attention_2"],
        help="attention of every arm (flash_attention_2 falls back to sdpa without CUDA and flash-attn)",
    )
    p.add_argument("--kernels", default="none", choices=["none", "liger"], help="Liger kernels (CUDA + triton)")
    p.add_argument("--compile", action="store_true", help="torch.compile each decoder layer")
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
        **{
            name: importlib.util.find_spec(module) is not None
            for name, module in (
                ("bitsandbytes", "bitsandbytes"),
                ("triton", "triton"),
                ("liger_kernel", "liger_kernel"),
                ("flash_attn", "flash_attn"),
            )
        },
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
        with _report_failure(bench="qlora", shape="llama-3-8b"):
            bench_qlora("llama-tiny" if args.smoke else "llama-3-8b", args, device, devname)


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

"""LoRA training tokens/s of a model directory on CPU: fp32 vs bf16 autocast, fixed vs varying sequence
shapes, for docs/benchmarks.md. Each variant runs `--warmup` steps, then times `--steps` steps of
`--batch` sequences of about `--seq` tokens (random ids; what is measured is compute, not learning).

    python bench/trainer/cpu_lora_speed.py MODEL_DIR [--threads 2] [--variants fp32,bf16,bf16-varying]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "k8s", "trainer"))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--variants", default="fp32,bf16,bf16-varying")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    vocab = model.config.vocab_size
    rng = random.Random(0)
    for variant in args.variants.split(","):
        bf16 = variant.startswith("bf16")
        varying = variant.endswith("varying")

        def step(bf16: bool = bf16, varying: bool = varying) -> int:
            seq = args.seq + (rng.randrange(-args.seq // 4, args.seq // 4) if varying else 0)
            ids = torch.randint(0, vocab, (args.batch, seq))
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
            with ctx:
                loss = model(input_ids=ids, labels=ids, use_cache=False).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            return ids.numel()

        for _ in range(args.warmup):
            step()
        cpu0, t0 = time.process_time(), time.perf_counter()
        tokens = sum(step() for _ in range(args.steps))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(
            json.dumps(
                {
                    "variant": variant,
                    "threads": args.threads,
                    "batch": args.batch,
                    "seq": args.seq,
                    "tokensPerS": round(tokens / wall, 1),
                    "tokensPerCpuS": round(tokens / cpu, 1),
                    "loadavg": round(os.getloadavg()[0], 1),
                    "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

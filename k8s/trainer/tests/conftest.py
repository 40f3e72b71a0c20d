import json
import random

import pytest

TINY = "builtin:tiny-random-llama"


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return str(path)


def learnable_records(n=24, seed=0):
    """A task a tiny model learns in a few dozen steps: answer with the word's first letter, doubled."""
    rng = random.Random(seed)
    words = ["apple", "banana", "cherry", "delta", "echo", "falcon", "grape", "hotel"]
    out = []
    for i in range(n):
        w = rng.choice(words)
        out.append(
            {
                "id": f"r{i}",
                "category": "closed_qa",
                "instruction": f"first letter of {w}",
                "context": "",
                "response": w[0] * 2,
            }
        )
    return out


def chat_records(n=8):
    return [
        {
            "id": f"c{i}",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": f"say {i}"},
                {"role": "assistant", "content": f"{i}"},
            ],
        }
        for i in range(n)
    ]


def finetune_spec(tmp_path, datasets, out="out", **train):
    base = dict(maxSeqLength=64, batchSize=2, gradientAccumulation=1, checkpointEverySteps=1000, learningRate=5e-3)
    base.update(train)
    return {
        "baseModel": TINY,
        "datasets": [str(d) for d in datasets],
        "outputDir": str(tmp_path / out),
        "method": "lora",
        "lora": {"rank": 8, "alpha": 16, "dropout": 0.05},
        "train": base,
        "device": "cpu",
    }


def save_spec(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return str(path)


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    # The CI machine is small and shared; one thread is steadier than two contended ones.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _token_cache_in_tmp(tmp_path, monkeypatch):
    """Each test gets its own token cache, never the user's ~/.cache; and fp32 on every CPU (the tests
    that exercise bf16 autocast ask for it), so results do not depend on the machine's instruction set."""
    monkeypatch.setenv("LLAMADUO_TOKEN_CACHE", str(tmp_path / "token-cache"))
    monkeypatch.setenv("LLAMADUO_CPU_BF16", "0")

import json

import pytest

from conftest import TINY, chat_records, finetune_spec, learnable_records, write_jsonl
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.generate import run_generate
from llamaduo_trainer.spec import FinetuneSpec, GenerateSpec


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ft")
    train = write_jsonl(tmp / "train.jsonl", learnable_records())
    spec = FinetuneSpec.model_validate(finetune_spec(tmp, [train], maxSteps=20, learningRate=3e-2, batchSize=4))
    return run_finetune(spec, "spec.json")["outputs"]["adapterDir"]


def gen_spec(tmp_path, prompts, out, adapter=None, **sampling):
    base = dict(responsesPerPrompt=3, temperature=0.8, topP=0.95, maxNewTokens=6, seed=7, batchSize=2)
    base.update(sampling)
    return GenerateSpec.model_validate(
        {
            "baseModel": TINY,
            "adapterDir": adapter,
            "prompts": prompts,
            "outputDir": str(tmp_path / out),
            "sampling": base,
            "device": "cpu",
        }
    )


def read(path):
    return [json.loads(line) for line in open(path)]


def test_n_outputs_per_prompt_deterministic_with_seed(tmp_path, adapter):
    test_split = learnable_records(5, seed=3)
    prompts = write_jsonl(tmp_path / "test.jsonl", test_split)
    a = run_generate(gen_spec(tmp_path, prompts, "a", adapter), "s")
    b = run_generate(gen_spec(tmp_path, prompts, "b", adapter), "s")
    rows_a = read(a["outputs"]["generations"])
    rows_b = read(b["outputs"]["generations"])
    assert rows_a == rows_b
    assert [(r["promptId"], r["sample"]) for r in rows_a] == [(f"r{i}", s) for i in range(5) for s in range(3)]
    assert all(isinstance(r["text"], str) for r in rows_a)
    assert a["metrics"] == {"prompts": 5, "samples": 15, "newTokens": a["metrics"]["newTokens"]}
    assert 0 < a["metrics"]["newTokens"] <= 15 * 6 and a["tokensPerSecond"] > 0
    c = run_generate(gen_spec(tmp_path, prompts, "c", adapter, seed=8), "s")
    assert read(c["outputs"]["generations"]) != rows_a  # the seed really drives sampling


def test_adapter_changes_what_is_generated(tmp_path, adapter):
    # The learnable task answers with a doubled first letter; greedy decoding with the adapter should
    # produce it far more often than the random base model does.
    prompts = write_jsonl(tmp_path / "test.jsonl", learnable_records(8, seed=5))
    expected = {f"r{i}": r["response"] for i, r in enumerate(learnable_records(8, seed=5))}
    tuned = read(
        run_generate(gen_spec(tmp_path, prompts, "t", adapter, temperature=0, responsesPerPrompt=1), "s")["outputs"][
            "generations"
        ]
    )
    base = read(
        run_generate(gen_spec(tmp_path, prompts, "b", None, temperature=0, responsesPerPrompt=1), "s")["outputs"][
            "generations"
        ]
    )
    hits = lambda rows: sum(r["text"] == expected[r["promptId"]] for r in rows)  # noqa: E731
    assert hits(tuned) > hits(base), (tuned, base)


def test_chat_prompts_drop_the_reference_answer(tmp_path):
    prompts = write_jsonl(tmp_path / "chat.jsonl", chat_records(3))
    result = run_generate(gen_spec(tmp_path, prompts, "o", None, responsesPerPrompt=2), "s")
    rows = read(result["outputs"]["generations"])
    assert [(r["promptId"], r["sample"]) for r in rows] == [(f"c{i}", s) for i in range(3) for s in range(2)]


def test_merged_weights_directory_works_as_a_base_model(tmp_path):
    # A model directory (not a builtin) goes through the transformers Auto* loading path; the merged
    # model must answer exactly as base + adapter does.
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], maxSteps=5, learningRate=3e-2)
    raw["mergeWeights"] = True
    outputs = run_finetune(FinetuneSpec.model_validate(raw), "s")["outputs"]
    prompts = write_jsonl(tmp_path / "test.jsonl", learnable_records(4, seed=9))
    with_adapter = run_generate(
        gen_spec(tmp_path, prompts, "a", outputs["adapterDir"], temperature=0, responsesPerPrompt=1), "s"
    )
    raw_gen = gen_spec(tmp_path, prompts, "m", None, temperature=0, responsesPerPrompt=1).model_dump()
    merged = run_generate(GenerateSpec.model_validate({**raw_gen, "baseModel": outputs["mergedDir"]}), "s")
    assert read(merged["outputs"]["generations"]) == read(with_adapter["outputs"]["generations"])


def test_out_of_memory_halves_the_generation_batch_and_the_manifest_says_so(tmp_path, monkeypatch):
    """CUDA's out-of-memory error, raised on CPU when a batch holds more than two prompts: the same prompts
    are tried again in halves, every prompt still gets its answers, and the manifest names the batch size."""
    import torch
    from test_contract_schema import validate_result

    from llamaduo_trainer import generate

    original = generate.load_model
    seen = []

    def load(*args):
        model, tok = original(*args)
        inner = model.generate

        def oom_above_two(input_ids, **kwargs):
            seen.append(input_ids.shape[0])
            if input_ids.shape[0] > 2:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
            return inner(input_ids=input_ids, **kwargs)

        model.generate = oom_above_two
        return model, tok

    monkeypatch.setattr(generate, "load_model", load)
    prompts = write_jsonl(tmp_path / "test.jsonl", learnable_records(7, seed=3))
    result = run_generate(gen_spec(tmp_path, prompts, "o", None, batchSize=8, responsesPerPrompt=2), "s")
    rows = read(result["outputs"]["generations"])
    assert sorted((r["promptId"], r["sample"]) for r in rows) == [(f"r{i}", s) for i in range(7) for s in range(2)]
    assert result["fit"]["batchSize"] == 2
    assert [(r["done"], r["batchSize"]) for r in result["fit"]["oomRetries"]] == [(0, 8), (0, 4)]
    assert seen == [7, 4, 2, 2, 2, 1]
    validate_result(json.load(open(tmp_path / "o" / "result.json")))


def test_out_of_memory_for_a_single_prompt_fails_with_advice(tmp_path, monkeypatch):
    import torch

    from llamaduo_trainer import generate
    from llamaduo_trainer.__main__ import main

    original = generate.load_model

    def load(*args):
        model, tok = original(*args)

        def always_oom(**kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory.")

        model.generate = always_oom
        return model, tok

    monkeypatch.setattr(generate, "load_model", load)
    prompts = write_jsonl(tmp_path / "test.jsonl", learnable_records(3, seed=3))
    spec = gen_spec(tmp_path, prompts, "o", None, batchSize=2)
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    assert main(["generate", "--spec", str(path)]) == 1
    manifest = json.load(open(tmp_path / "o" / "result.json"))
    assert manifest["status"] == "failed" and "lower maxNewTokens" in manifest["error"]["message"]

import json
import os

import torch
from safetensors.torch import load_file

from conftest import chat_records, finetune_spec, learnable_records, write_jsonl
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.spec import FinetuneSpec


def test_loss_decreases_on_a_learnable_task_and_writes_adapter(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records())
    synthetic = write_jsonl(tmp_path / "synthetic.jsonl", chat_records())
    spec = FinetuneSpec.model_validate(
        finetune_spec(tmp_path, [train, synthetic], maxSteps=30, learningRate=3e-2, batchSize=4)
    )
    result = run_finetune(spec, "spec.json")
    losses = result["metrics"]["losses"]
    assert result["status"] == "succeeded" and len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, losses
    assert result["method"] == "lora" and result["metrics"]["examples"] == 32
    adapter = result["outputs"]["adapterDir"]
    assert os.path.isfile(os.path.join(adapter, "adapter_config.json"))
    manifest = json.load(open(os.path.join(spec.outputDir, "result.json")))
    assert manifest["status"] == "succeeded" and manifest["tokensPerSecond"] > 0
    assert manifest["versions"]["torch"] == torch.__version__


def test_qlora_request_without_4bit_stack_is_stated_not_silent(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(4))
    raw = finetune_spec(tmp_path, [train], maxSteps=1)
    raw["method"] = "qlora"
    result = run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    assert result["method"] == "lora" and result["requestedMethod"] == "qlora"
    assert "not quantized" in result["methodReason"]


def test_resume_after_preemption_continues_the_schedule(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(16))
    common = dict(maxSteps=6, checkpointEverySteps=2, learningRate=1e-2, warmupRatio=0.2)

    straight = run_finetune(FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "a", **common)), "s")

    spec_b = FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "b", **common))
    first = run_finetune(spec_b, "s", should_stop=lambda step: step == 3)
    assert first["status"] == "preempted" and first["metrics"]["steps"] == 3
    assert json.load(open(tmp_path / "b" / "result.json"))["status"] == "preempted"
    resumed = run_finetune(spec_b, "s")

    assert resumed["status"] == "succeeded" and resumed["resumedFromStep"] == 3
    # Same losses step for step as the uninterrupted run: same batches, LR schedule, RNG.
    assert len(resumed["metrics"]["losses"]) == 6
    for a, b in zip(straight["metrics"]["losses"], resumed["metrics"]["losses"], strict=True):
        assert abs(a - b) < 1e-4
    wa = load_file(tmp_path / "a" / "adapter" / "adapter_model.safetensors")
    wb = load_file(tmp_path / "b" / "adapter" / "adapter_model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)


def test_merged_weights_are_written_on_request(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(4))
    raw = finetune_spec(tmp_path, [train], maxSteps=1)
    raw["mergeWeights"] = True
    result = run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    merged = result["outputs"]["mergedDir"]
    assert os.path.isfile(os.path.join(merged, "config.json"))
    assert os.path.isfile(os.path.join(merged, "tokenizer_config.json"))


def test_gradient_checkpointing_trains_the_same(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    plain = run_finetune(FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "p", maxSteps=3)), "s")
    ckpt = run_finetune(
        FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "c", maxSteps=3, gradientCheckpointing=True)), "s"
    )
    for a, b in zip(plain["metrics"]["losses"], ckpt["metrics"]["losses"], strict=True):
        assert abs(a - b) < 1e-4

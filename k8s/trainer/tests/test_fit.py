"""QLoRA that fits: bf16 compute after prepare_model_for_kbit_training, checkpointing on by default for QLoRA,
and the out-of-memory ladder. CUDA's out-of-memory error is raised on CPU from a forward hook, the way a
too-large micro-batch raises it on a GPU; the 4-bit load itself needs CUDA and is not run here."""

import json

import pytest
import torch
from test_contract_schema import validate_result

from conftest import TINY, finetune_spec, learnable_records, save_spec, write_jsonl
from llamaduo_trainer import builtin_models, finetune
from llamaduo_trainer.__main__ import main
from llamaduo_trainer.fit import FitSettings, after_oom, initial_settings
from llamaduo_trainer.spec import FinetuneSpec


def test_the_ladder_turns_checkpointing_on_then_halves_the_micro_batch():
    s = FitSettings(False, 4, 2)
    rungs = []
    while s is not None:
        rungs.append(s)
        s = after_oom(s)
    assert rungs == [
        FitSettings(False, 4, 2),
        FitSettings(True, 4, 2),
        FitSettings(True, 2, 4),
        FitSettings(True, 1, 8),
    ]


def test_checkpointing_defaults_on_for_qlora_only(tmp_path):
    raw = finetune_spec(tmp_path, ["/d/t.jsonl"])
    spec = FinetuneSpec.model_validate(raw)
    assert spec.train.gradientCheckpointing is None
    assert initial_settings(spec, "qlora").gradientCheckpointing is True
    assert initial_settings(spec, "lora").gradientCheckpointing is False
    raw["train"]["gradientCheckpointing"] = False
    assert initial_settings(FinetuneSpec.model_validate(raw), "qlora").gradientCheckpointing is False


def test_the_qlora_path_computes_in_bf16_with_checkpointing(tmp_path):
    """prepare_model_for_kbit_training upcasts frozen weights to fp32; attach_lora casts them back."""
    model, _ = builtin_models.build(TINY, torch.bfloat16)
    spec = FinetuneSpec.model_validate(finetune_spec(tmp_path, ["/d/t.jsonl"]))
    peft_model = finetune.attach_lora(model, spec, True, torch.bfloat16, True)
    frozen = {p.dtype for p in peft_model.parameters() if not p.requires_grad}
    assert frozen == {torch.bfloat16}
    assert peft_model.get_base_model().is_activation_checkpointing
    ids = torch.randint(0, 200, (1, 16))
    out = peft_model(input_ids=ids, labels=ids, use_cache=False)
    assert out.logits.dtype == torch.bfloat16
    out.loss.backward()
    assert all(p.grad is not None for p in peft_model.parameters() if p.requires_grad)

    # without the cast the same call leaves them in fp32 (what the issue found)
    model2, _ = builtin_models.build(TINY, torch.bfloat16)
    from peft import prepare_model_for_kbit_training

    assert {p.dtype for p in prepare_model_for_kbit_training(model2, False).parameters()} == {torch.float32}


def inject_oom(monkeypatch, fits):
    """Raises CUDA's out-of-memory error in the embedding's forward unless fits(rows, checkpointing)."""
    seen = []
    original = finetune.attach_lora

    def attach(model, *args):
        peft_model = original(model, *args)
        base = peft_model.get_base_model()

        def hook(_module, args):
            rows, on = args[0].shape[0], base.is_activation_checkpointing
            seen.append((rows, on))
            if not fits(rows, on):
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        base.model.embed_tokens.register_forward_pre_hook(hook)
        return peft_model

    monkeypatch.setattr(finetune, "attach_lora", attach)
    return seen


def test_out_of_memory_steps_down_and_the_manifest_says_so(tmp_path, monkeypatch):
    seen = inject_oom(monkeypatch, lambda rows, on: rows == 1 and on)
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(16))
    raw = finetune_spec(tmp_path, [train], maxSteps=3, packing=False, batchSize=4, gradientAccumulation=1)
    raw["train"]["checkpointEverySteps"] = 1
    result = finetune.run_finetune(FinetuneSpec.model_validate(raw), "spec.json", should_stop=lambda s: s == 2)
    assert result["status"] == "preempted" and result["metrics"]["steps"] == 2
    assert result["fit"]["gradientCheckpointing"] is True
    assert (result["fit"]["batchSize"], result["fit"]["gradientAccumulation"]) == (1, 4)
    retries = result["fit"]["oomRetries"]
    assert [(r["step"], r["gradientCheckpointing"], r["batchSize"]) for r in retries] == [
        (1, False, 4),
        (1, True, 4),
        (1, True, 2),
    ]
    assert "CUDA out of memory" in retries[0]["error"]
    assert seen[:3] == [(4, False), (4, True), (2, True)] and set(seen[3:]) == {(1, True)}
    manifest = json.load(open(tmp_path / "out" / "result.json"))
    validate_result(manifest)
    assert manifest["fit"] == result["fit"]

    # the resumed run keeps the rung it stepped down to rather than running out of memory again
    seen.clear()
    resumed = finetune.run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    assert resumed["status"] == "succeeded" and resumed["metrics"]["steps"] == 3
    assert set(seen) == {(1, True)} and len(seen) == 4
    assert len(resumed["fit"]["oomRetries"]) == 3


def test_out_of_memory_on_the_last_rung_fails_with_advice(tmp_path, monkeypatch):
    inject_oom(monkeypatch, lambda rows, on: False)
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], maxSteps=2, packing=False, batchSize=2)
    assert main(["finetune", "--spec", save_spec(tmp_path, raw)]) == 1
    manifest = json.load(open(tmp_path / "out" / "result.json"))
    validate_result(manifest)
    assert manifest["status"] == "failed"
    assert "one row per micro-batch" in manifest["error"]["message"]


@pytest.mark.parametrize("error", [RuntimeError("shape mismatch"), ValueError("bad")])
def test_other_errors_are_not_retried(tmp_path, monkeypatch, error):
    calls = []

    def boom(*_a, **_k):
        calls.append(1)
        raise error

    monkeypatch.setattr(finetune, "micro_batch_loss", boom)
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    with pytest.raises(type(error)):
        finetune.run_finetune(FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], maxSteps=2)), "s")
    assert len(calls) == 1


def test_fp16_compute_trains_through_a_loss_scaler(tmp_path, monkeypatch):
    """A CUDA GPU without bf16 (T4, V100) computes in fp16; run here on CPU with the same dtype: the loss is
    scaled before backward and the weights the optimizer sees get the unscaled, finite gradients."""
    from llamaduo_trainer import fit, loading

    monkeypatch.setattr(loading, "compute_dtype", lambda device: torch.float16)
    scalers = []
    original = fit.grad_scaler

    def spy(device, dtype, **kwargs):
        scalers.append(original(device, dtype, **kwargs))
        return scalers[-1]

    monkeypatch.setattr(fit, "grad_scaler", spy)
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], maxSteps=3, packing=True, batchSize=2, gradientAccumulation=1)
    result = finetune.run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    assert result["status"] == "succeeded" and result["dtype"] == "float16"
    assert len(scalers) == 1 and scalers[0].is_enabled()
    # the scale was applied to the backward (and not reset by an overflow on every step)
    assert scalers[0].get_scale() > 1
    assert all(loss == loss and loss != float("inf") for loss in result["metrics"]["losses"])
    assert not fit.grad_scaler(torch.device("cpu"), torch.float32).is_enabled()
    assert not fit.grad_scaler(torch.device("cpu"), torch.bfloat16).is_enabled()


def test_all_linear_on_a_multimodal_checkpoint_adapts_the_language_model_only(tmp_path):
    """Gemma 3 4B and larger load as Gemma3ForConditionalGeneration, vision tower included; 'all-linear'
    must not put adapters there (text-only data never trains them, and vLLM refuses such an adapter)."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    text = dict(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    config = Gemma3Config(
        text_config=dict(text, num_key_value_heads=1, head_dim=16, sliding_window=8, layer_types=None),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=28,
            patch_size=14,
        ),
        mm_tokens_per_image=4,
    )
    model = Gemma3ForConditionalGeneration(config)
    spec = FinetuneSpec.model_validate(finetune_spec(tmp_path, ["/d/t.jsonl"]))
    peft_model = finetune.attach_lora(model, spec, False, torch.float32, False)
    adapted = [n.removesuffix(".lora_A") for n, _ in peft_model.named_modules() if n.endswith(".lora_A")]
    assert adapted and all(".language_model." in n for n in adapted)
    leaves = {n.rsplit(".", 1)[-1] for n in adapted}
    assert leaves == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert len(adapted) == 2 * 7  # every linear of both decoder layers
    # a text-only model keeps PEFT's own 'all-linear'
    tiny, _ = builtin_models.build(TINY, torch.float32)
    assert finetune.lora_targets(tiny, "all-linear") == "all-linear"
    assert finetune.lora_targets(model, ["q_proj"]) == ["q_proj"]

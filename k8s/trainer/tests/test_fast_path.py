"""The GPU fast path on a machine without one: every option that needs CUDA, Triton or a package that is
missing falls back with a reason in result.json (or fails with a spec error where the spec insists), and
what does run on CPU (compiled decoder layers, the fused-AdamW switch, the LM-head loss) gives the same
training as the plain path."""

import importlib.util
import json
import os

import pytest
import torch
from test_contract_schema import validate_result

from conftest import learnable_records, write_jsonl
from llamaduo_trainer import fast_path, vllm_engine
from llamaduo_trainer.errors import SpecError
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.generate import choose_engine, run_generate
from llamaduo_trainer.spec import FinetuneSpec, GenerateSpec

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallbacks of a machine without CUDA")


def test_flash_attention_falls_back_to_sdpa_without_cuda_or_flash_attn():
    attn, why = fast_path.attention("flash_attention_2", CPU)
    assert attn == "sdpa" and "CUDA" in why
    for other in ("sdpa", "eager", "flex_attention"):
        assert fast_path.attention(other, CPU) == (other, None)
    if importlib.util.find_spec("flash_attn") is None:
        attn, why = fast_path.attention("flash_attention_2", CUDA)
        assert attn == "sdpa" and "flash-attn" in why


def test_liger_needs_cuda_and_triton():
    assert "CUDA" in fast_path.liger_unavailable(CPU)
    if importlib.util.find_spec("triton") is None:
        # The CPU environment leaves triton out (scripts/setup-python.sh): a CUDA device alone is not enough.
        assert "triton" in fast_path.liger_unavailable(CUDA)


def _train(tmp_path, out, **top):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(12))
    raw = {
        "baseModel": "builtin:tiny-random-llama",
        "datasets": [train],
        "outputDir": str(tmp_path / out),
        "method": "lora",
        "lora": {"rank": 4, "alpha": 8, "dropout": 0.0},
        "train": {"maxSteps": 4, "batchSize": 2, "gradientAccumulation": 1, "maxSeqLength": 64, "learningRate": 1e-2},
        "device": "cpu",
        **top,
    }
    return run_finetune(FinetuneSpec.model_validate(raw), "spec.json")


@no_cuda
def test_a_run_asking_for_the_gpu_fast_path_on_cpu_trains_and_says_what_it_used(tmp_path):
    plain = _train(tmp_path, "plain")
    asked = _train(tmp_path, "asked", kernels="liger", attnImplementation="flash_attention_2")
    fp = asked["fastPath"]
    assert fp["attention"] == "sdpa" and fp["kernels"] == "none" and fp["fusedAdamW"] is False
    assert fp["compiledLayers"] == 0
    assert any("flash_attention_2" in f for f in fp["fallbacks"])
    assert any("liger" in f and "CUDA" in f for f in fp["fallbacks"])
    # The fallback is the plain path, step for step.
    assert asked["metrics"]["losses"] == plain["metrics"]["losses"]
    assert plain["fastPath"] == {
        "attention": "sdpa",
        "kernels": "none",
        "compiledLayers": 0,
        "fusedAdamW": False,
        "fallbacks": [],
    }
    validate_result(json.load(open(os.path.join(tmp_path, "asked", "result.json"))))


def test_compiled_decoder_layers_train_the_same_adapter(tmp_path, monkeypatch):
    # 'eager' runs dynamo's capture of each layer (LoRA, packed position ids, the backward) without the
    # inductor build, which takes minutes on a small CPU.
    monkeypatch.setattr(fast_path, "COMPILE_BACKEND", "eager")
    from torch._dynamo.utils import counters

    plain = _train(tmp_path, "plain")
    counters.clear()
    compiled = _train(tmp_path, "compiled", compileLayers=True)
    assert compiled["fastPath"]["compiledLayers"] == 2
    assert counters["stats"]["unique_graphs"] > 0  # the layers really ran through dynamo
    assert compiled["metrics"]["losses"] == pytest.approx(plain["metrics"]["losses"], rel=1e-5)
    from safetensors.torch import load_file

    a = load_file(os.path.join(plain["outputs"]["adapterDir"], "adapter_model.safetensors"))
    b = load_file(os.path.join(compiled["outputs"]["adapterDir"], "adapter_model.safetensors"))
    assert a.keys() == b.keys()  # nn.Module.compile keeps the parameter names
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_plain_head_loss_is_the_summed_cross_entropy():
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 11, bias=False)
    hidden, targets = torch.randn(5, 8), torch.randint(0, 11, (5,))
    want = torch.nn.functional.cross_entropy(head(hidden), targets, reduction="sum")
    assert torch.allclose(fast_path.plain_head_loss(head, hidden, targets), want)


def _generate_spec(tmp_path, engine, base="builtin:tiny-random-llama"):
    prompts = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "messages": [{"role": "user", "content": "hi"}]}])
    return GenerateSpec.model_validate(
        {
            "baseModel": base,
            "prompts": prompts,
            "outputDir": str(tmp_path / "gen"),
            "sampling": {"responsesPerPrompt": 1, "temperature": 0, "maxNewTokens": 3},
            "device": "cpu",
            "engine": engine,
        }
    )


def test_vllm_engine_is_chosen_only_where_it_can_run(tmp_path):
    spec = _generate_spec(tmp_path, "auto")
    engine, why = choose_engine(spec, CPU, "spec.json")
    assert engine == "transformers" and "CUDA" in why
    assert choose_engine(_generate_spec(tmp_path, "transformers"), CPU, "spec.json") == ("transformers", None)
    with pytest.raises(SpecError, match="engine vllm cannot run here: vLLM needs a CUDA device") as err:
        choose_engine(_generate_spec(tmp_path, "vllm"), CPU, "spec.json")
    assert err.value.field == "engine"
    if importlib.util.find_spec("vllm") is None:
        assert vllm_engine.unavailable(str(tmp_path), CUDA) == "vllm is not installed"
    else:
        assert "builtin" in vllm_engine.unavailable("builtin:tiny-random-llama", CUDA)


def test_generate_on_auto_says_why_it_is_not_vllm(tmp_path):
    result = run_generate(_generate_spec(tmp_path, "auto"), "spec.json")
    assert result["engine"] == "transformers" and "CUDA" in result["engineReason"]
    validate_result(json.load(open(os.path.join(tmp_path, "gen", "result.json"))))


def test_vllm_lora_rank_is_rounded_up_to_a_size_vllm_has(tmp_path):
    for rank, want in ((4, 8), (8, 8), (12, 16), (64, 64), (100, 128)):
        (tmp_path / "adapter_config.json").write_text(json.dumps({"r": rank}))
        assert vllm_engine.lora_rank(str(tmp_path)) == want

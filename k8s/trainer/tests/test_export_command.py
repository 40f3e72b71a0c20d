"""`export`: one finished adapter merged and written as GGUF in a step of its own (the migration's best, after
training), through the same CLI, spec checks and result.json as finetune and generate."""

import json
import os

import jsonschema
from gguf import GGUFReader
from safetensors.torch import load_file
from test_contract_schema import CONTRACT, validate_result

from conftest import TINY, finetune_spec, learnable_records, save_spec, write_jsonl
from llamaduo_trainer.__main__ import EXIT_BAD_SPEC, main
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.spec import FinetuneSpec


def trained_adapter(tmp_path, **exports):
    tmp_path.mkdir(exist_ok=True)
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], out="tuned", maxSteps=2)
    raw.update(exports)
    return raw, run_finetune(FinetuneSpec.model_validate(raw), "spec.json")


def test_export_merges_the_adapter_and_writes_gguf_and_modelfile(tmp_path):
    raw, tuned = trained_adapter(tmp_path)
    assert set(tuned["outputs"]) == {"adapterDir"}  # the fine-tune itself exported nothing
    spec = {
        "baseModel": raw["baseModel"],
        "adapterDir": tuned["outputs"]["adapterDir"],
        "outputDir": str(tmp_path / "export"),
        "gguf": True,
    }
    jsonschema.validate(spec, CONTRACT["specs"]["export"])
    assert main(["export", "--spec", str(save_spec(tmp_path, spec))]) == 0
    result = json.load(open(tmp_path / "export" / "result.json"))
    validate_result(result)
    assert result["command"] == "export" and result["status"] == "succeeded"
    out = result["outputs"]
    assert set(out) == {"mergedDir", "ggufFile", "modelfile"}
    assert out["mergedDir"] == str(tmp_path / "export" / "merged")

    # the same merge the fine-tune would have written with mergeWeights (a LoRA run merges in memory)
    _, inline = trained_adapter(tmp_path / "inline", mergeWeights=True)
    exported = load_file(os.path.join(out["mergedDir"], "model.safetensors"))
    in_run = load_file(os.path.join(inline["outputs"]["mergedDir"], "model.safetensors"))
    name = "model.layers.0.mlp.down_proj.weight"
    assert (exported[name] - in_run[name]).abs().max() < 1e-5
    reader = GGUFReader(out["ggufFile"])
    tensors = {t.name: t for t in reader.tensors}
    assert abs(tensors["blk.0.ffn_down.weight"].data.astype("float32") - exported[name].numpy()).max() < 1e-2
    assert open(out["modelfile"]).read().startswith(f"FROM ./{os.path.basename(out['ggufFile'])}\n")


def test_merged_only_writes_no_gguf(tmp_path):
    raw, tuned = trained_adapter(tmp_path)
    spec = {"baseModel": raw["baseModel"], "adapterDir": tuned["outputs"]["adapterDir"]}
    spec["outputDir"] = str(tmp_path / "export")
    assert main(["export", "--spec", str(save_spec(tmp_path, spec))]) == 0
    result = json.load(open(tmp_path / "export" / "result.json"))
    assert set(result["outputs"]) == {"mergedDir"}
    assert not os.path.exists(tmp_path / "export" / "gguf")


def test_a_folder_without_an_adapter_is_a_bad_spec_naming_the_field(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    spec = {
        "baseModel": "builtin:tiny-random-llama",
        "adapterDir": str(tmp_path / "empty"),
        "outputDir": str(tmp_path / "export"),
    }
    assert main(["export", "--spec", str(save_spec(tmp_path, spec))]) == EXIT_BAD_SPEC
    result = json.load(open(tmp_path / "export" / "result.json"))
    validate_result(result)
    assert result["status"] == "failed" and "adapterDir" in result["error"]["message"]


def test_a_model_directory_base_is_reloaded_in_bf16_and_merged(tmp_path):
    """The path a QLoRA adapter takes (its 4-bit training weights are never merged): the base is read from its
    directory in bf16 and the adapter merged into it, giving base + B·A·scale up to bf16 rounding."""
    import torch
    from peft import PeftModel

    from llamaduo_trainer import builtin_models

    model, tok = builtin_models.build(TINY)
    base_dir = tmp_path / "base"
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    raw, tuned = trained_adapter(tmp_path / "train", baseModel=str(base_dir))
    spec = {"baseModel": str(base_dir), "adapterDir": tuned["outputs"]["adapterDir"]}
    spec["outputDir"] = str(tmp_path / "export")
    assert main(["export", "--spec", str(save_spec(tmp_path, spec))]) == 0
    out = json.load(open(tmp_path / "export" / "result.json"))["outputs"]
    merged = load_file(os.path.join(out["mergedDir"], "model.safetensors"))
    name = "model.layers.1.self_attn.q_proj.weight"
    assert merged[name].dtype == torch.bfloat16

    full = PeftModel.from_pretrained(builtin_models.build(TINY)[0], tuned["outputs"]["adapterDir"])
    exact = full.merge_and_unload().state_dict()[name]
    base = model.state_dict()[name]
    delta = exact - base
    assert delta.abs().max() > 1e-3, "the adapter changed the weight"
    # bf16 keeps 8 significant bits: the merge lands within its rounding of the exact sum, not on the base
    assert (merged[name].float() - exact).abs().max() <= exact.abs().max() * 2**-8 + 1e-6
    assert (merged[name].float() - exact).abs().mean() < delta.abs().mean()

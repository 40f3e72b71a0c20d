"""Exports users can serve: merged weights (in memory for LoRA, base reloaded for QLoRA), a GGUF file and an
Ollama Modelfile, and the GGUF of a CPU-trained SmolLM2 adapter answering through llama.cpp (the
node-llama-cpp runtime the demo installs)."""

import json
import os
import subprocess

import pytest
import torch
from chat_templates import FAMILIES, tokenizer_for
from gguf import GGUFReader
from safetensors.torch import load_file
from test_contract_schema import validate_result

from conftest import chat_records, finetune_spec, learnable_records, write_jsonl
from llamaduo_trainer import exports, gguf_export
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.spec import FinetuneSpec

TOOLS = os.environ.get("LLAMADUO_TOOLS", os.path.join(os.path.dirname(__file__), "../../../.tools"))
DEMO_STUDENT = os.path.join(TOOLS, "demo-student")
RUNTIME = os.path.join(TOOLS, "demo-model/runtime/node_modules/node-llama-cpp/dist/index.js")
NODE = os.path.join(TOOLS, "node/bin/node")
ANSWER = os.path.join(os.path.dirname(__file__), "llama_cpp", "answer.mjs")


def field(reader: GGUFReader, name: str):
    return reader.fields[name].contents()


def test_a_lora_run_exports_merged_weights_gguf_and_modelfile(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], maxSteps=2)
    raw["exportGguf"] = True
    result = run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    out = result["outputs"]
    assert set(out) == {"adapterDir", "mergedDir", "ggufFile", "modelfile"}
    validate_result(json.load(open(tmp_path / "out" / "result.json")))

    merged = load_file(os.path.join(out["mergedDir"], "model.safetensors"))
    reader = GGUFReader(out["ggufFile"])
    assert field(reader, "general.architecture") == "llama"
    assert field(reader, "llama.block_count") == 2 and field(reader, "tokenizer.ggml.model") == "gpt2"
    assert "<|assistant|>" in field(reader, "tokenizer.chat_template")
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == len(merged)  # untied head: output.weight is written too
    # the merged (not the base) weights went into the file: the down projection LoRA trained
    down = merged["model.layers.0.mlp.down_proj.weight"].numpy()
    assert abs(tensors["blk.0.ffn_down.weight"].data.astype("float32") - down).max() < 1e-2

    modelfile = open(out["modelfile"]).read()
    assert modelfile.startswith(f"FROM ./{os.path.basename(out['ggufFile'])}\n")
    assert 'PARAMETER stop "<|end|>"' in modelfile and 'TEMPLATE """' in modelfile


def test_the_qlora_merge_reloads_the_base_and_matches_the_in_memory_merge(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    raw = finetune_spec(tmp_path, [train], maxSteps=2, learningRate=5e-2)
    raw["mergeWeights"] = True
    spec = FinetuneSpec.model_validate(raw)
    result = run_finetune(spec, "spec.json")
    in_memory = load_file(os.path.join(result["outputs"]["mergedDir"], "model.safetensors"))
    reloaded = exports.reload_merged(spec, "spec.json", result["outputs"]["adapterDir"]).state_dict()
    from llamaduo_trainer import builtin_models

    base = builtin_models.build(spec.baseModel)[0].state_dict()
    name = "model.layers.1.self_attn.q_proj.weight"
    assert not torch.allclose(base[name], in_memory[name])  # the adapter changed it
    assert torch.allclose(reloaded[name], in_memory[name], atol=1e-5)


@pytest.mark.parametrize("family", ["chatml", "llama3"])
def test_the_ollama_template_renders_what_the_jinja_template_does(family):
    tok = tokenizer_for(FAMILIES[family])
    parts = gguf_export.ollama_template(tok)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert gguf_export.render_like_ollama(parts, messages) == expected
    assert parts[0].count("{{ .Content }}") == 3


def test_a_template_without_a_system_turn_gets_a_modelfile_without_template(tmp_path):
    tok = tokenizer_for(FAMILIES["gemma"])
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no') }}{% endif %}{% endfor %}"
    )
    path, why = gguf_export.write_modelfile(str(tmp_path), str(tmp_path / "m.gguf"), tok, ["<end_of_turn>"])
    text = open(path).read()
    assert why and "TEMPLATE" not in text.replace("# no TEMPLATE", "")
    assert 'PARAMETER stop "<end_of_turn>"' in text


@pytest.mark.skipif(
    not (os.path.isdir(DEMO_STUDENT) and os.path.isfile(RUNTIME)),
    reason="needs the demo student and node-llama-cpp (scripts/setup-demo-student.sh, setup-demo-model.sh)",
)
def test_a_cpu_trained_smollm2_adapter_exported_to_gguf_answers_through_llama_cpp(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", chat_records(4))
    raw = finetune_spec(tmp_path, [train], maxSteps=1, learningRate=1e-5, maxSeqLength=48)
    raw.update(baseModel=DEMO_STUDENT, exportGguf=True)
    result = run_finetune(FinetuneSpec.model_validate(raw), "spec.json")
    gguf_file = result["outputs"]["ggufFile"]
    reader = GGUFReader(gguf_file)
    # the demo student's tokenizer.json (converted from GGUF by transformers) splits with GPT-2's plain regex
    assert field(reader, "tokenizer.ggml.pre") == "gpt-2"
    assert "output.weight" not in {t.name for t in reader.tensors}  # tied embeddings
    assert 'PARAMETER stop "<|im_end|>"' in open(result["outputs"]["modelfile"]).read()
    run = subprocess.run(
        [NODE, ANSWER, RUNTIME, gguf_file, "What is the capital of France?"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])["answer"]
    # a wrong q/k layout or vocabulary gives gibberish; the right one keeps the base model's knowledge
    assert "Paris" in answer, answer

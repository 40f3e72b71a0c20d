"""The baseModel grammar, which files of a Hub commit the trainer fetches, and the chat-template check."""

from __future__ import annotations

import json

import pytest

from llamaduo_trainer import base_model, model_source
from llamaduo_trainer.errors import ModelError, SpecError
from llamaduo_trainer.spec import GenerateSpec, load_spec


@pytest.mark.parametrize(
    ("value", "kind", "repo", "rev"),
    [
        ("builtin:tiny-random-llama", "builtin", None, None),
        ("/models/gemma", "dir", None, None),
        ("/models/smol.Q4_1.gguf", "gguf", None, None),
        ("s3://bucket/models/gemma", "s3", None, None),
        ("s3://bucket/smol.gguf", "s3-gguf", None, None),
        ("google/gemma-2b-it", "hub", "google/gemma-2b-it", None),
        ("org/name@v1.0", "hub", "org/name", "v1.0"),
        ("org/name@refs/pr/1", "hub", "org/name", "refs/pr/1"),
    ],
)
def test_parse(value, kind, repo, rev):
    s = model_source.parse(value)
    assert (s.kind, s.repo, s.revision) == (kind, repo, rev)


@pytest.mark.parametrize("value", ["gemma", "./models/x", "org/name/extra", "org/../x", " org/name", "s3:///x"])
def test_parse_rejects(value):
    with pytest.raises(ValueError):
        model_source.parse(value)


def test_pinned_only_for_a_commit_sha():
    assert model_source.parse("org/name@" + "a" * 40).pinned
    assert not model_source.parse("org/name@main").pinned


def test_spec_rejects_a_malformed_base_model(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"baseModel": "gemma", "prompts": "/p.jsonl", "outputDir": "/out"}))
    with pytest.raises(SpecError) as e:
        load_spec(str(path), GenerateSpec)
    assert "field 'baseModel'" in str(e.value) and "Hugging Face Hub id" in str(e.value)


def test_hub_files_prefers_safetensors_and_fetches_small_files_first():
    names = ["model.safetensors", "pytorch_model.bin", "config.json", "original/consolidated.pth", "x.gguf", "a.onnx"]
    assert base_model.hub_files(names) == ["config.json", "model.safetensors"]
    assert base_model.hub_files(["pytorch_model.bin", "config.json"]) == ["config.json", "pytorch_model.bin"]


def test_a_model_directory_without_a_chat_template_names_the_fix(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(ModelError) as e:
        base_model.require_chat_template(str(tmp_path), "s3://b/m")
    assert str(e.value).startswith("s3://b/m: the model has no chat template") and "chat_template.jinja" in str(e.value)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ x }}"}))
    base_model.require_chat_template(str(tmp_path), "s3://b/m")

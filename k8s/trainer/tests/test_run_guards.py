"""Configurations that used to crash at run time: greedy decoding with several responses, datasets cut
away by maxSeqLength, system turns and multi-turn conversations on real-family templates."""

import json

import pytest
from chat_templates import FAMILIES, save_bigram_model, tokenizer_for

from conftest import TINY, chat_records, finetune_spec, learnable_records, save_spec, write_jsonl
from llamaduo_trainer.__main__ import main
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.generate import run_generate
from llamaduo_trainer.spec import FinetuneSpec, GenerateSpec


def test_greedy_with_several_responses_generates_once_and_repeats(tmp_path):
    prompts = write_jsonl(tmp_path / "p.jsonl", learnable_records(3, seed=1))
    spec = GenerateSpec.model_validate(
        {
            "baseModel": TINY,
            "prompts": prompts,
            "outputDir": str(tmp_path / "out"),
            "sampling": {"responsesPerPrompt": 3, "temperature": 0, "maxNewTokens": 5, "batchSize": 2},
            "device": "cpu",
        }
    )
    result = run_generate(spec, "spec.json")
    rows = [json.loads(line) for line in open(result["outputs"]["generations"])]
    assert [(r["promptId"], r["sample"]) for r in rows] == [(f"r{i}", s) for i in range(3) for s in range(3)]
    for i in range(3):
        texts = {r["text"] for r in rows if r["promptId"] == f"r{i}"}
        assert len(texts) == 1
    assert result["metrics"]["samples"] == 9
    # Tokens really decoded: three greedy answers of at most 5 tokens, not nine.
    assert 0 < result["metrics"]["newTokens"] <= 3 * 5


def long_records(n):
    return [
        {"id": f"long{i}", "instruction": "summarise", "context": "word " * 40, "response": "short"} for i in range(n)
    ]


def test_examples_dropped_for_length_are_counted(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", learnable_records(4) + long_records(3))
    spec = FinetuneSpec.model_validate(finetune_spec(tmp_path, [data], maxSteps=1, maxSeqLength=64))
    result = run_finetune(spec, "spec.json")
    assert result["metrics"]["examples"] == 4 and result["metrics"]["droppedExamples"] == 3
    written = json.load(open(tmp_path / "out" / "result.json"))
    assert written["metrics"]["droppedExamples"] == 3


def test_a_dataset_truncated_away_is_a_data_error(tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", long_records(3))
    spec = finetune_spec(tmp_path, [data], maxSteps=1, maxSeqLength=64)
    spec_path = save_spec(tmp_path, spec)
    assert main(["finetune", "--spec", spec_path]) == 2
    result = json.load(open(tmp_path / "out" / "result.json"))
    assert result["status"] == "failed" and result["error"]["kind"] == "spec"
    message = result["error"]["message"]
    assert spec_path in message and "train.maxSeqLength" in message and "all 3 examples" in message
    assert "ZeroDivisionError" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["gemma", "qwen3", "deepseek-r1"])
def test_finetune_on_real_family_templates(tmp_path, name):
    # Gemma rejects the system turn of these records; Qwen3 renders earlier answers differently; DeepSeek-R1's
    # generation prompt adds '<think>\n'. Each used to crash or mislabel (the labels are checked in test_templates).
    tok = tokenizer_for(FAMILIES[name])
    model_dir = save_bigram_model(tmp_path / "model", tok, {})
    records = chat_records(4) + [
        {
            "id": "multi",
            "messages": [
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "1"},
                {"role": "user", "content": "two"},
                {"role": "assistant", "content": "2"},
            ],
        }
    ]
    data = write_jsonl(tmp_path / "d.jsonl", records)
    raw = finetune_spec(tmp_path, [data], maxSteps=2, maxSeqLength=256)
    result = run_finetune(FinetuneSpec.model_validate({**raw, "baseModel": model_dir}), "spec.json")
    assert result["status"] == "succeeded" and result["metrics"]["examples"] == 5
    assert result["metrics"]["trainedTokens"] > 0 and result["metrics"]["droppedExamples"] == 0

"""Keeps k8s/trainer/contract-examples/ (which the TypeScript zod schemas are tested against, in
tests/unit/trainer-contract.test.ts) in step with what the trainer really writes.
LLAMADUO_UPDATE_CONTRACT_EXAMPLES=1 rewrites them."""

import json
import os

from test_contract_schema import validate_event, validate_result

from conftest import finetune_spec, learnable_records, save_spec, write_jsonl
from llamaduo_trainer.__main__ import main

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "contract-examples")
UPDATE = os.environ.get("LLAMADUO_UPDATE_CONTRACT_EXAMPLES") == "1"


def shape(value):
    """Keys and value types, not values (paths, timings and losses differ run to run)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def check(name, data):
    if name.endswith("result.json"):
        validate_result(data)  # against the TypeScript contract itself, not only the committed example's shape
    if name == "events.jsonl":
        for event in data:
            validate_event(event)
    path = os.path.join(EXAMPLES, name)
    if UPDATE:
        os.makedirs(EXAMPLES, exist_ok=True)
        with open(path, "w") as f:
            if name.endswith(".jsonl"):
                f.writelines(json.dumps(e) + "\n" for e in data)
            else:
                json.dump(data, f, indent=2)
                f.write("\n")
    with open(path) as f:
        committed = [json.loads(x) for x in f] if name.endswith(".jsonl") else json.load(f)
    if name.endswith(".jsonl"):
        kinds = lambda rows: {json.dumps(shape(e), sort_keys=True) for e in rows}  # noqa: E731
        assert kinds(data) <= kinds(committed), f"new line shapes: update {name}"
    else:
        assert shape(data) == shape(committed), f"result.json shape changed: update {name}"


def events(captured: str) -> list[dict]:
    return [json.loads(x) for x in captured.splitlines() if x.startswith('{"event"')]


def test_examples_match_what_the_trainer_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LLAMADUO_CPU_BF16", "1")  # the same manifest shape on every CPU
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(6))
    spec = finetune_spec(tmp_path, [train], "ft", maxSteps=2, checkpointEverySteps=1)
    assert main(["finetune", "--spec", save_spec(tmp_path, spec, "ft.json")]) == 0
    ft_events = events(capsys.readouterr().out)
    check("finetune-result.json", json.load(open(tmp_path / "ft" / "result.json")))

    gen = {
        "baseModel": spec["baseModel"],
        "adapterDir": str(tmp_path / "ft" / "adapter"),
        "prompts": train,
        "outputDir": str(tmp_path / "gen"),
        "sampling": {"responsesPerPrompt": 2, "maxNewTokens": 4},
        "device": "cpu",
    }
    assert main(["generate", "--spec", save_spec(tmp_path, gen, "gen.json")]) == 0
    gen_events = events(capsys.readouterr().out)
    check("generate-result.json", json.load(open(tmp_path / "gen" / "result.json")))
    check("generations.jsonl", [json.loads(x) for x in open(tmp_path / "gen" / "generations.jsonl")][:2])

    write_jsonl(tmp_path / "bad.jsonl", [{"instruction": "x", "response": 1}])
    bad = finetune_spec(tmp_path, [tmp_path / "bad.jsonl"], "bad")
    assert main(["finetune", "--spec", save_spec(tmp_path, bad, "bad.json")]) == 2
    bad_events = events(capsys.readouterr().out)
    check("failed-result.json", json.load(open(tmp_path / "bad" / "result.json")))
    check("events.jsonl", ft_events + gen_events + bad_events)

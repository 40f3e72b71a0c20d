"""The trainer against the one description of its contract: the zod schemas in
activities/gpu/trainer-contract.ts, exported as k8s/trainer/contract-schema.json (scripts/gen-trainer-contract.ts;
tests/unit/gpu/trainer-contract.test.ts fails when that file is stale). The pydantic specs must take the same
fields with the same defaults, enums and bounds, and what the trainer writes must validate."""

import json
import os

import jsonschema
import pytest
from pydantic import ValidationError

from llamaduo_trainer.__main__ import EXIT_BAD_SPEC, EXIT_PREEMPTED
from llamaduo_trainer.spec import ExportSpec, FinetuneSpec, GenerateSpec

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTRACT = json.load(open(os.path.join(TRAINER_DIR, "contract-schema.json"), encoding="utf-8"))
EXAMPLES = os.path.join(TRAINER_DIR, "contract-examples")
JS_MAX_SAFE_INTEGER = 9007199254740991
# Annotations and what the two generators spell differently without a difference in meaning.
IGNORED = {"title", "description", "$schema", "$comment", "pattern"}


def normalise(node, defs):
    """A schema node with references resolved, annotations dropped and lists in a stable order."""
    if isinstance(node, dict):
        if "$ref" in node:
            return normalise(defs[node["$ref"].split("/")[-1]], defs)
        out = {}
        for key, value in node.items():
            if key in IGNORED or key == "$defs":
                continue
            if key == "maximum" and value == JS_MAX_SAFE_INTEGER:
                continue  # zod bounds every integer by JavaScript's safe range
            if key == "default" and isinstance(value, dict):
                continue  # nested objects: their fields' defaults are compared one by one
            out[key] = normalise(value, defs)
        any_of = out.get("anyOf")
        if any_of and all(set(v) == {"type"} and isinstance(v["type"], str) for v in any_of):
            out["type"] = [v["type"] for v in out.pop("anyOf")]  # pydantic's anyOf of bare types = zod's type list
        if isinstance(out.get("type"), list):
            out["type"] = sorted(out["type"])
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("required", [])
        return out
    if isinstance(node, list):
        items = [normalise(v, defs) for v in node]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return node


def differences(ts, py, path="") -> list[str]:
    if isinstance(ts, dict) and isinstance(py, dict):
        out = []
        for key in sorted(set(ts) | set(py)):
            where = f"{path}.{key}" if path else key
            if key not in py:
                out.append(f"{where}: in the TypeScript contract only ({json.dumps(ts[key])[:80]})")
            elif key not in ts:
                out.append(f"{where}: in the pydantic model only ({json.dumps(py[key])[:80]})")
            else:
                out.extend(differences(ts[key], py[key], where))
        return out
    return [] if ts == py else [f"{path}: TypeScript {json.dumps(ts)[:80]} != pydantic {json.dumps(py)[:80]}"]


@pytest.mark.parametrize("name,model", [("finetune", FinetuneSpec), ("generate", GenerateSpec), ("export", ExportSpec)])
def test_pydantic_specs_match_the_typescript_contract(name, model):
    ts = normalise(CONTRACT["specs"][name], {})
    py_schema = model.model_json_schema()
    py = normalise(py_schema, py_schema.get("$defs", {}))
    assert differences(ts, py) == []


def test_the_comparison_notices_a_changed_default_or_field():
    ts = normalise(CONTRACT["specs"]["finetune"], {})
    py_schema = FinetuneSpec.model_json_schema()
    py = normalise(py_schema, py_schema["$defs"])
    py["properties"]["train"]["properties"]["batchSize"]["default"] = 8
    py["properties"]["extra"] = {"type": "string"}
    found = differences(ts, py)
    assert any("batchSize.default" in d for d in found) and any("extra" in d for d in found)


def test_exit_codes_match():
    assert CONTRACT["exitCodes"] == {"ok": 0, "failed": 1, "badSpec": EXIT_BAD_SPEC, "preempted": EXIT_PREEMPTED}


@pytest.mark.parametrize(
    "patch",
    [
        {"datasets": ["relative/train.jsonl"]},
        {"outputDir": "s3:///no-bucket"},
        {"train": {"lr": 1}},
        {"lora": {"rank": 0}},
        {"method": "full"},
        {"unknown": True},
    ],
)
def test_both_sides_refuse_the_same_bad_specs(patch):
    good = {"baseModel": "builtin:tiny-random-llama", "datasets": ["/a/t.jsonl"], "outputDir": "s3://b/out"}
    jsonschema.validate(good, CONTRACT["specs"]["finetune"])
    FinetuneSpec.model_validate(good)
    bad = {**good, **patch}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CONTRACT["specs"]["finetune"])
    with pytest.raises(ValidationError):
        FinetuneSpec.model_validate(bad)


def validate_result(result: dict) -> None:
    jsonschema.validate(result, CONTRACT["result"])


def validate_event(event: dict) -> None:
    jsonschema.validate(event, CONTRACT["event"])


def test_committed_examples_validate():
    for name in ("finetune-result.json", "generate-result.json", "failed-result.json"):
        validate_result(json.load(open(os.path.join(EXAMPLES, name))))
    for line in open(os.path.join(EXAMPLES, "events.jsonl")):
        validate_event(json.loads(line))
    for line in open(os.path.join(EXAMPLES, "generations.jsonl")):
        jsonschema.validate(json.loads(line), CONTRACT["generationRecord"])
    broken = json.load(open(os.path.join(EXAMPLES, "finetune-result.json")))
    broken["metrics"].pop("trainedTokens")
    with pytest.raises(jsonschema.ValidationError):
        validate_result(broken)

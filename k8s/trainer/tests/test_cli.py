import json
import os
import signal
import subprocess
import sys

from conftest import finetune_spec, learnable_records, save_spec, write_jsonl
from llamaduo_trainer.__main__ import main

PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": PKG_ROOT}
    return subprocess.Popen(
        [sys.executable, "-m", "llamaduo_trainer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def bad(tmp_path, capsys, spec_text, command="finetune"):
    path = tmp_path / "spec.json"
    path.write_text(spec_text)
    assert main([command, "--spec", str(path)]) == 2
    return capsys.readouterr().err


def test_bad_json_names_file_and_line(tmp_path, capsys):
    err = bad(tmp_path, capsys, '{\n "baseModel": "x",\n oops }')
    assert f"{tmp_path}/spec.json:3:" in err and "not valid JSON" in err


def test_missing_and_wrong_fields_are_named(tmp_path, capsys):
    err = bad(tmp_path, capsys, json.dumps({"baseModel": "builtin:tiny-random-llama", "outputDir": "/tmp/x"}))
    assert "field 'datasets'" in err and "Field required" in err
    spec = finetune_spec(tmp_path, ["/tmp/t.jsonl"])
    spec["train"]["learningRate"] = -1
    assert "field 'train.learningRate'" in bad(tmp_path, capsys, json.dumps(spec))
    spec = finetune_spec(tmp_path, ["relative/t.jsonl"])
    assert "field 'datasets.0'" in bad(tmp_path, capsys, json.dumps(spec))
    spec = finetune_spec(tmp_path, ["/tmp/t.jsonl"])
    spec["lora"]["rnak"] = 8
    assert "field 'lora.rnak'" in bad(tmp_path, capsys, json.dumps(spec))


def test_bad_dataset_record_names_file_line_and_field(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    records = learnable_records(3)
    records[1]["response"] = 42
    write_jsonl(data, records)
    err = bad(tmp_path, capsys, json.dumps(finetune_spec(tmp_path, [data])))
    assert f"{data}:2: field 'response' must be a string" in err
    assert json.load(open(tmp_path / "out" / "result.json"))["status"] == "failed"

    write_jsonl(data, [{"messages": [{"role": "robot", "content": "hi"}]}])
    err = bad(tmp_path, capsys, json.dumps(finetune_spec(tmp_path, [data])))
    assert f"{data}:1: field 'messages[0].role' must be one of" in err


def test_unknown_base_model_is_a_spec_error(tmp_path, capsys):
    data = write_jsonl(tmp_path / "train.jsonl", learnable_records(2))
    spec = finetune_spec(tmp_path, [data])
    spec["baseModel"] = "/nonexistent/model"
    assert "field 'baseModel'" in bad(tmp_path, capsys, json.dumps(spec))


def test_cli_streams_json_progress_and_checkpoints_on_sigterm(tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", learnable_records(16))
    spec = save_spec(tmp_path, finetune_spec(tmp_path, [data], maxSteps=400, checkpointEverySteps=1000))
    proc = run_cli("finetune", "--spec", spec)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and len(events) == 2:
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 3, proc.stderr.read()
    progress = [e for e in events if e["event"] == "progress"]
    assert {"step", "loss", "tokens_per_s", "eta_s", "total_steps"} <= progress[0].keys()
    stopped_at = progress[-1]["step"]
    assert stopped_at < 400
    assert {"event": "checkpoint", "step": stopped_at} == {k: v for k, v in events[-2].items() if k != "path"}
    assert json.load(open(tmp_path / "out" / "result.json"))["status"] == "preempted"

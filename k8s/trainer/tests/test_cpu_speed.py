import json
import os

import torch

from conftest import finetune_spec, learnable_records, write_jsonl
from llamaduo_trainer import cpu_speed, token_cache
from llamaduo_trainer.finetune import run_finetune
from llamaduo_trainer.spec import FinetuneSpec


def test_bf16_autocast_only_with_native_bf16_and_overridable():
    assert cpu_speed.cpu_has_bf16({"avx2", "avx512_bf16"}, env={})
    assert cpu_speed.cpu_has_bf16({"amx_bf16"}, env={})
    assert not cpu_speed.cpu_has_bf16({"avx2", "avx512f"}, env={})
    assert not cpu_speed.cpu_has_bf16({"avx512_bf16"}, env={"LLAMADUO_CPU_BF16": "0"})
    assert cpu_speed.cpu_has_bf16(set(), env={"LLAMADUO_CPU_BF16": "1"})
    assert cpu_speed.autocast_dtype(torch.device("meta")) is None  # never on anything but the CPU


def test_cpuinfo_flags_are_read_from_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags\t\t: fpu sse2 avx512_bf16 amx_tile\nbugs : none\n")
    assert {"avx512_bf16", "amx_tile"} <= cpu_speed.cpu_flags(str(info))
    assert cpu_speed.cpu_flags(str(tmp_path / "missing")) == set()


def test_cgroup_cpu_quota_caps_the_cores(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cpu_speed.cgroup_cpu_limit(str(v2)) == 2  # 1.5 cores: two threads, one of them half busy
    (v2 / "cpu.max").write_text("50000 100000\n")
    assert cpu_speed.cgroup_cpu_limit(str(v2)) == 1
    assert cpu_speed.available_cores(str(v2)) == 1
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cpu_speed.cgroup_cpu_limit(str(v2)) is None
    assert cpu_speed.available_cores(str(v2)) == len(os.sched_getaffinity(0))
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_speed.cgroup_cpu_limit(str(tmp_path / "v1")) == 3
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_speed.cgroup_cpu_limit(str(tmp_path / "v1")) is None
    assert cpu_speed.cgroup_cpu_limit(str(tmp_path / "none")) is None


def test_threads_follow_the_cores_unless_omp_says_otherwise(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert cpu_speed.configure_threads(torch.device("cpu")) == cpu_speed.available_cores()
        assert torch.get_num_threads() == cpu_speed.available_cores()
        torch.set_num_threads(1)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert cpu_speed.configure_threads(torch.device("cpu")) == 1
    finally:
        torch.set_num_threads(before)


def test_second_run_on_the_same_data_reads_the_token_cache(tmp_path, monkeypatch):
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(8))
    monkeypatch.setenv("LLAMADUO_CPU_BF16", "0")
    first = run_finetune(FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "a", maxSteps=2)), "s.json")
    entries = os.listdir(token_cache.cache_dir())
    assert len(entries) == 1 and first["autocast"] is None and first["threads"] >= 1
    calls = []
    real = token_cache.cached_examples

    def spy(*args, **kwargs):
        examples, hit = real(*args, **kwargs)
        calls.append(hit)
        return examples, hit

    monkeypatch.setattr(token_cache, "cached_examples", spy)
    second = run_finetune(FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], "b", maxSteps=2)), "s.json")
    assert calls == [True]
    assert second["metrics"]["examples"] == first["metrics"]["examples"] == 8
    assert second["metrics"]["tokens"] == first["metrics"]["tokens"]
    # other data or another maxSeqLength is another entry
    shorter = finetune_spec(tmp_path, [train], "c", maxSteps=1, maxSeqLength=32)
    run_finetune(FinetuneSpec.model_validate(shorter), "s.json")
    assert len(os.listdir(token_cache.cache_dir())) == 2


def test_cpu_bf16_autocast_trains_and_is_stated_in_the_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("LLAMADUO_CPU_BF16", "1")
    train = write_jsonl(tmp_path / "train.jsonl", learnable_records(16))
    spec = FinetuneSpec.model_validate(finetune_spec(tmp_path, [train], maxSteps=20, learningRate=3e-2, batchSize=4))
    result = run_finetune(spec, "spec.json")
    losses = result["metrics"]["losses"]
    assert result["autocast"] == "bfloat16" and result["dtype"] == "float32"
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4, losses
    manifest = json.load(open(os.path.join(spec.outputDir, "result.json")))
    assert manifest["autocast"] == "bfloat16"

"""The model cache on a shared volume: the commit rule, verification of every read against the manifest (a
damaged entry is fetched again, never loaded), and one Job at a time filling an entry."""

from __future__ import annotations

import json
import os
import threading

import pytest

from llamaduo_trainer import cache_lock, model_cache
from llamaduo_trainer.model_cache import Place


def _model(tmp_path, name="model", weights=b"w" * 4096):
    src = tmp_path / name
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(weights)
    os.chmod(src / "model.safetensors", 0o600)
    (src / ".cache").mkdir()
    (src / ".cache" / "x.lock").write_text("")
    return str(src)


def _entry(tmp_path):
    return Place(str(tmp_path / "cache" / "hub" / "o" / "n" / "sha"))


@pytest.fixture(autouse=True)
def _fast_lock(monkeypatch):
    monkeypatch.setenv("LLAMADUO_MODEL_LOCK_POLL_S", "0.05")


def test_an_entry_is_committed_whole_and_read_in_place(tmp_path):
    src = _model(tmp_path)
    entry = _entry(tmp_path)
    work = str(tmp_path / "work")
    assert model_cache.cache_get(entry, work) is None
    # A half-copied entry (no manifest) is not trusted.
    os.makedirs(entry.where)
    assert model_cache.cache_get(entry, work) is None
    os.rmdir(entry.where)
    where = model_cache.cache_put(src, entry, {"source": "o/n", "revision": "sha"})
    assert model_cache.cache_get(entry, work) == where == entry.where
    manifest = json.loads((tmp_path / "cache/hub/o/n/sha/manifest.json").read_text())
    assert sorted(manifest["files"]) == ["config.json", "model.safetensors"]
    assert manifest["files"]["model.safetensors"]["bytes"] == "4096"
    assert not os.path.exists(os.path.join(where, ".cache"))
    # written 0600 by its writer, readable by other Jobs' users on the shared volume once cached
    assert os.stat(os.path.join(where, "model.safetensors")).st_mode & 0o044 == 0o044


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(b"w" * 2048), "has 2048 bytes, the manifest says 4096"),
        (lambda p: p.write_bytes(b"w" * 4095 + b"x"), "does not match its sha256"),
        (lambda p: p.unlink(), "is missing"),
    ],
    ids=["truncated", "altered", "missing"],
)
def test_a_damaged_entry_is_a_miss_and_is_fetched_again(tmp_path, capsys, damage, reason):
    entry = _entry(tmp_path)
    work = str(tmp_path / "work")
    model_cache.cache_put(_model(tmp_path), entry, {"source": "o/n", "revision": "sha"})
    # Read clean once, so the entry carries a stamp of its verified state; the damage must still be found.
    assert model_cache.cache_get(entry, work) == entry.where
    damage(tmp_path / "cache/hub/o/n/sha/model.safetensors")

    assert model_cache.cache_get(entry, work) is None
    assert f"model.safetensors {reason}" in capsys.readouterr().err

    fetched = []

    def produce():
        fetched.append(1)
        return _model(tmp_path, "refetched"), {"source": "o/n", "revision": "sha"}

    path, hit = model_cache.fill(entry, work, produce)
    assert (path, hit, len(fetched)) == (entry.where, False, 1)
    assert (tmp_path / "cache/hub/o/n/sha/model.safetensors").read_bytes() == b"w" * 4096
    assert model_cache.fill(entry, work, produce) == (entry.where, True)
    assert len(fetched) == 1
    assert not os.path.exists(entry.where + ".lock")


def test_an_unchanged_verified_entry_is_not_hashed_again(tmp_path, monkeypatch):
    entry = _entry(tmp_path)
    model_cache.cache_put(_model(tmp_path), entry, {"source": "o/n", "revision": "sha"})
    hashed = []
    real = model_cache.remote.file_digest
    monkeypatch.setattr(model_cache.remote, "file_digest", lambda p: (hashed.append(p), real(p))[1])
    assert model_cache.cache_get(entry, str(tmp_path / "work")) == entry.where
    assert len(hashed) == 2
    assert model_cache.cache_get(entry, str(tmp_path / "work")) == entry.where
    assert len(hashed) == 2, "hashed again although nothing changed"
    # Touching a file (same bytes) changes its ctime: it is hashed again, and still passes.
    os.utime(os.path.join(entry.where, "config.json"))
    assert model_cache.cache_get(entry, str(tmp_path / "work")) == entry.where
    assert len(hashed) == 4


def test_two_jobs_filling_one_entry_fetch_it_once(tmp_path, monkeypatch):
    """The second waits while the first fetches, then reads the committed entry; it never sees a partial one."""
    entry = _entry(tmp_path)
    waiting = threading.Event()
    real_wait = cache_lock.EntryLock.wait_released

    def wait_released(self):
        waiting.set()
        return real_wait(self)

    monkeypatch.setattr(cache_lock.EntryLock, "wait_released", wait_released)
    fetched = []

    def produce():
        fetched.append(threading.current_thread().name)
        # Holds the lock until the other Job is waiting on it.
        assert waiting.wait(30), "the second Job never waited"
        return _model(tmp_path, f"download-{len(fetched)}"), {"source": "o/n", "revision": "sha"}

    results: dict[str, tuple[str, bool]] = {}

    def job(name):
        results[name] = model_cache.fill(entry, str(tmp_path / f"work-{name}"), produce)

    threads = [threading.Thread(target=job, args=(n,), name=n) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(fetched) == 1, fetched
    assert sorted(results.values()) == [(entry.where, False), (entry.where, True)]
    assert not os.path.exists(entry.where + ".lock")


def test_a_lock_left_by_a_dead_job_is_taken_over(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLAMADUO_MODEL_LOCK_STALE_S", "0.3")
    entry = _entry(tmp_path)
    dead = tmp_path / "cache/hub/o/n/sha.lock"
    dead.mkdir(parents=True)
    (dead / "owner.json").write_text(json.dumps({"owner": "pod-gone-1", "beat": 3}))

    def produce():
        return _model(tmp_path), {"source": "o/n", "revision": "sha"}

    assert model_cache.fill(entry, str(tmp_path / "work"), produce) == (entry.where, False)
    err = capsys.readouterr().err
    assert "waiting for another Job" in err and "stopped its heartbeat; taking over" in err
    assert not dead.exists()


def test_a_live_holder_keeps_its_lock_while_it_works(tmp_path, monkeypatch):
    """The heartbeat keeps the record changing, so a waiter with a short stale limit still waits."""
    monkeypatch.setenv("LLAMADUO_MODEL_LOCK_STALE_S", "0.4")
    holder = cache_lock.EntryLock(str(tmp_path / "entry"))
    assert holder.try_acquire()
    other = cache_lock.EntryLock(str(tmp_path / "entry"))
    assert not other.try_acquire()
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (other.wait_released(), done.set()))
    waiter.start()
    # Several stale limits pass while the holder beats: the waiter must not break the lock.
    assert not done.wait(2.0)
    assert holder._still_mine()
    holder.release()
    waiter.join(10)
    assert done.is_set()
    assert other.try_acquire()
    other.release()


def test_two_steps_resolving_a_revision_at_once_both_use_the_first_record(tmp_path, monkeypatch):
    """The migration's base-model.json is created only if absent: the step that resolves second (the branch
    moved in between) continues with the commit the first recorded, so both train on the same weights."""
    from types import SimpleNamespace

    from llamaduo_trainer import base_model, model_source

    lock = Place(str(tmp_path / "m1" / "base-model.json"))
    source = model_source.parse("org/name@main")

    def hub_call(_source, _what, _fn, *_args, **_kwargs):
        # While this step asks the Hub, another step of the migration resolves and records its answer.
        lock.write_json({"source": "org/name@main", "repo": "org/name", "revision": "a" * 40})
        return SimpleNamespace(sha="b" * 40)

    monkeypatch.setattr(base_model, "_hub_call", hub_call)
    assert base_model.resolve_revision(source, lock) == "a" * 40
    assert lock.read_json()["revision"] == "a" * 40

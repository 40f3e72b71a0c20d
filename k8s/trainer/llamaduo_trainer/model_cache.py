"""The cluster's base-model cache: one entry per model version, under a directory on the shared volume or an
s3:// prefix (`<modelCache>/hub/<org>/<name>/<sha>/`, `<modelCache>/gguf/<sha256 of the file>/`).

An entry counts only once its manifest.json (`{source, revision, files: {name: {sha256, bytes}}}`) exists, and
the manifest is written last, so a Job killed mid-upload leaves nothing a later Job trusts. Every read checks
each file against the manifest (size, then sha256): a truncated, missing or altered file makes the entry a
miss, and the Job that notices it fetches the model again and replaces the entry instead of loading it.

Filling or repairing an entry happens under the entry's lock (cache_lock.py): when two Jobs (two migrations)
want the same model at once, one fetches it and the other waits and then reads the committed entry; neither
reads a half-written entry and they never both write it."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from . import remote
from .cache_lock import EntryLock
from .progress import log
from .remote import S3Path
from .tmpnames import tmp_name

MANIFEST = "manifest.json"
LOCAL_META = ".cache"  # huggingface_hub's bookkeeping inside a local_dir download
_HASH_THREADS = 4  # hashlib releases the GIL on large buffers: big shards hash in parallel


class Place:
    """A place that is either a local path or an s3:// key/prefix."""

    def __init__(self, where: str) -> None:
        self.where = where.rstrip("/")
        self.s3 = S3Path.parse(self.where) if remote.is_remote(self.where) else None

    def child(self, name: str) -> Place:
        return Place(f"{self.where}/{name}")

    def read_json(self) -> dict | None:
        if self.s3:
            data = remote.read_bytes_or_none(self.s3)
            return None if data is None else json.loads(data)
        try:
            with open(self.where, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def write_json(self, body: dict) -> None:
        data = json.dumps(body, indent=2).encode() + b"\n"
        if self.s3:
            remote.upload_bytes(data, self.s3)
            return
        os.makedirs(os.path.dirname(self.where), exist_ok=True)
        tmp = tmp_name(self.where)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.where)

    def create_json(self, body: dict) -> bool:
        """Writes the record only if none exists yet; False when one already did (read it instead)."""
        data = json.dumps(body, indent=2).encode() + b"\n"
        if self.s3:
            return remote.create_bytes(data, self.s3)
        os.makedirs(os.path.dirname(self.where), exist_ok=True)
        tmp = tmp_name(self.where)
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, self.where)  # atomic and exclusive, NFS included
            return True
        except FileExistsError:
            return False
        finally:
            os.remove(tmp)

    def __str__(self) -> str:
        return self.where


def _digest_dir(local_dir: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for root, dirs, names in os.walk(local_dir):
        dirs[:] = sorted(d for d in dirs if not (root == local_dir and d == LOCAL_META))
        for name in sorted(names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
            if rel != MANIFEST:
                meta = remote.file_digest(full)
                out[rel] = {"sha256": meta["sha256"], "bytes": meta["bytes"]}
    return out


def _local_mismatch(root: str, rel: str, meta: dict) -> str | None:
    """Why the file at root/rel is not the one the manifest recorded, or None when it is."""
    full = os.path.join(root, rel)
    try:
        size = os.path.getsize(full)
    except OSError:
        return f"{rel} is missing"
    if str(size) != str(meta["bytes"]):
        return f"{rel} has {size} bytes, the manifest says {meta['bytes']}"
    if remote.file_digest(full)["sha256"] != meta["sha256"]:
        return f"{rel} does not match its sha256 {meta['sha256']}"
    return None


def _stat_stamp(root: str, files: dict) -> dict[str, list[int]] | None:
    """Each file's (size, mtime, ctime) in ns; any write or utime changes ctime, which no caller can set back."""
    out: dict[str, list[int]] = {}
    for rel in files:
        try:
            st = os.stat(os.path.join(root, rel))
        except OSError:
            return None
        out[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return out


def _verify_local(root: str, files: dict) -> str | None:
    """Why the entry at root does not match its manifest, or None. A full hash is done once per state of the
    files: `<entry>.verified` records what they looked like when they last hashed clean, and an entry whose
    files still look exactly so (same size, mtime and ctime) is not hashed again, so a 16 GB model on a shared
    volume is not read twice per step."""
    stamp_path = f"{root}.verified"
    now = _stat_stamp(root, files)
    try:
        with open(stamp_path, encoding="utf-8") as f:
            if now is not None and json.load(f) == now:
                return None
    except (OSError, ValueError):
        pass
    with ThreadPoolExecutor(max_workers=_HASH_THREADS) as pool:
        problems = [p for p in pool.map(lambda item: _local_mismatch(root, *item), files.items()) if p]
    if problems:
        return problems[0]
    if now is not None and now == _stat_stamp(root, files):
        try:
            Place(stamp_path).write_json(now)
        except OSError as e:  # a read-only cache volume: verified again next time
            log(f"{stamp_path}: not written ({e})")
    return None


def _fetch_s3(entry: S3Path, files: dict, local: str) -> str | None:
    """Downloads the entry's files into local, each checked against the manifest; why not, or None."""
    for rel, meta in files.items():
        try:
            remote.download_file(entry.child(rel), os.path.join(local, rel), sha256=meta["sha256"])
        except remote.MissingObject:
            return f"{rel} is missing"
        except remote.DigestMismatch:
            return f"{rel} does not match its sha256 {meta['sha256']}"
    return None


def cache_get(entry: Place, work_dir: str) -> str | None:
    """A committed, intact cache entry as a local directory (an s3:// one is downloaded), else None.
    An entry whose files do not match its manifest is reported and counts as a miss."""
    manifest = entry.child(MANIFEST).read_json()
    if manifest is None:
        return None
    t0 = time.monotonic()
    if entry.s3:
        local = os.path.join(work_dir, "base-model")
        shutil.rmtree(local, ignore_errors=True)
        problem = _fetch_s3(entry.s3, manifest["files"], local)
    else:
        local = entry.where
        problem = _verify_local(local, manifest["files"])
    if problem:
        log(f"cache entry {entry} is damaged ({problem}); it will be fetched again, not loaded")
        return None
    log(f"cache entry {entry}: {len(manifest['files'])} files verified in {time.monotonic() - t0:.0f}s")
    return local


def uncommit(entry: Place) -> None:
    """Removes an entry, manifest first, so nobody trusts it while it goes."""
    if entry.s3:
        remote.delete_key(entry.child(MANIFEST).s3)  # type: ignore[arg-type]
        remote.delete_prefix(entry.s3)
        return
    try:
        os.remove(f"{entry.where}.verified")
    except FileNotFoundError:
        pass
    if os.path.isdir(entry.where):
        doomed = tmp_name(entry.where)
        os.rename(entry.where, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def _readable_by_all(root: str) -> None:
    """Some writers (safetensors through a temp file) leave 0600 files; other Jobs' pods on the shared volume
    may run as another user of the volume's group, so the entry is made readable to them."""
    for base, dirs, names in os.walk(root):
        for d in dirs:
            full = os.path.join(base, d)
            os.chmod(full, os.stat(full).st_mode | 0o055)
        for n in names:
            full = os.path.join(base, n)
            os.chmod(full, os.stat(full).st_mode | 0o044)
    os.chmod(root, os.stat(root).st_mode | 0o055)


def cache_put(local_dir: str, entry: Place, body: dict) -> str:
    """Commits local_dir as a cache entry: files first, manifest last. Returns where it can be read locally.
    Callers hold the entry's lock (fill)."""
    files = _digest_dir(local_dir)
    manifest = {**body, "files": files}
    if entry.s3:
        for rel in files:
            remote.upload_file(os.path.join(local_dir, rel), entry.s3.child(rel))
        entry.child(MANIFEST).write_json(manifest)
        return local_dir
    partial = tmp_name(entry.where)
    shutil.copytree(local_dir, partial, ignore=shutil.ignore_patterns(LOCAL_META))
    _readable_by_all(partial)
    Place(os.path.join(partial, MANIFEST)).write_json(manifest)
    try:
        os.rename(partial, entry.where)
    except OSError:
        # Only possible when a lock went stale and its holder came back: the entry it committed is as good.
        shutil.rmtree(partial, ignore_errors=True)
    return entry.where


def fill(entry: Place, work_dir: str, produce: Callable[[], tuple[str, dict]]) -> tuple[str, bool]:
    """The entry as a local directory, fetched by produce() (-> (local dir, manifest fields)) and committed when
    no intact copy exists. Returns (path, from_cache). One Job at a time fetches an entry; the others wait for
    it to commit and then read it (or take over if it died)."""
    hit = cache_get(entry, work_dir)
    if hit:
        return hit, True
    lock = EntryLock(entry.where)
    while True:
        if lock.try_acquire():
            try:
                # Someone may have committed (or repaired) it between our look and our lock.
                hit = cache_get(entry, work_dir)
                if hit:
                    return hit, True
                uncommit(entry)
                local, body = produce()
                return cache_put(local, entry, body), False
            finally:
                lock.release()
        lock.wait_released()
        hit = cache_get(entry, work_dir)
        if hit:
            return hit, True

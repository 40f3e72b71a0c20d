"""The lock that lets one Job at a time fill (or repair) a model-cache entry, on a shared volume or in S3.

A holder proves it is alive by rewriting its lock record every few seconds (a heartbeat thread). A waiter
watches the record on its own monotonic clock, so clocks that disagree between nodes do not matter: a record
that has not changed for LLAMADUO_MODEL_LOCK_STALE_S seconds (default 120) belongs to a Job that died or
was preempted, and the waiter removes it and competes for the entry itself.

- Shared volume: the lock is the directory `<entry>.lock` (mkdir is atomic, NFS included) holding
  owner.json; a stale lock is renamed away first, so only one waiter breaks it.
- S3: the lock is the prefix `<entry>.lock/`. A contender writes `<entry>.lock/<its id>` and lists the
  prefix; it holds the lock only if its record is the only one, else it deletes its record and waits. S3's
  read-after-write consistency (AWS, GCS, R2, SeaweedFS, MinIO) means that of two contenders the one that
  lists second sees the other, so two never both hold it; both may back off, and a random pause before the
  next try separates them. No conditional-write support is needed from the server."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import threading
import time
import uuid

from . import remote
from .progress import log
from .remote import S3Path
from .tmpnames import tmp_name

OWNER = "owner.json"


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def stale_after() -> float:
    return _seconds("LLAMADUO_MODEL_LOCK_STALE_S", 120.0)


def poll_every() -> float:
    return _seconds("LLAMADUO_MODEL_LOCK_POLL_S", 2.0)


class EntryLock:
    def __init__(self, entry: str) -> None:
        self.entry = entry.rstrip("/")
        self.where = f"{self.entry}.lock"
        self.s3 = S3Path.parse(self.where) if remote.is_remote(self.where) else None
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._beat = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # the record

    def _record(self) -> bytes:
        body = {"owner": self.id, "beat": self._beat, "entry": self.entry}
        return json.dumps(body).encode() + b"\n"

    def _my_key(self) -> S3Path:
        assert self.s3
        return self.s3.child(self.id)

    def _write_record(self) -> None:
        if self.s3:
            remote.upload_bytes(self._record(), self._my_key())
            return
        path = os.path.join(self.where, OWNER)
        tmp = tmp_name(path)
        with open(tmp, "wb") as f:
            f.write(self._record())
        os.replace(tmp, path)

    def _still_mine(self) -> bool:
        if self.s3:
            return remote.exists(self._my_key())
        try:
            with open(os.path.join(self.where, OWNER), encoding="utf-8") as f:
                return json.load(f).get("owner") == self.id
        except (OSError, ValueError):
            return False

    # holding

    def try_acquire(self) -> bool:
        if self.s3:
            self._write_record()
            others = [k for k in remote.list_keys(self.s3) if k != self.id]
            if others:
                remote.delete_key(self._my_key())
                # Two contenders that saw each other both back off; a random pause separates their next tries.
                time.sleep(random.uniform(0, poll_every()))
                return False
        else:
            os.makedirs(os.path.dirname(self.where) or ".", exist_ok=True)
            try:
                os.mkdir(self.where)
            except FileExistsError:
                return False
            self._write_record()
        self._stop.clear()
        self._thread = threading.Thread(target=self._heartbeat, name="model-cache-lock", daemon=True)
        self._thread.start()
        return True

    def _heartbeat(self) -> None:
        every = max(0.2, min(15.0, stale_after() / 4))
        while not self._stop.wait(every):
            try:
                if not self._still_mine():
                    log(f"{self.where}: this Job's lock was taken as stale by another; it goes on regardless")
                    return
                self._beat += 1
                self._write_record()
            except Exception as e:  # noqa: BLE001 - a missed beat is retried at the next one
                log(f"{self.where}: heartbeat failed ({type(e).__name__}: {e})")

    def release(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self._thread = None
        if self.s3:
            remote.delete_key(self._my_key())
            return
        if not self._still_mine():
            return
        doomed = tmp_name(self.where)
        try:
            os.rename(self.where, doomed)
        except FileNotFoundError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    # waiting

    def _records(self) -> dict[str, str]:
        """Every record the lock holds now: {name: version}. Empty when nobody holds it."""
        if self.s3:
            return remote.list_etags(self.s3)
        try:
            with open(os.path.join(self.where, OWNER), "rb") as f:
                return {OWNER: f.read().decode(errors="replace")}
        except FileNotFoundError:
            # a lock directory whose holder has not written its record yet (or died before it did)
            return {"": ""} if os.path.isdir(self.where) else {}

    def _break(self, name: str) -> None:
        if self.s3:
            remote.delete_key(self.s3.child(name))
            return
        doomed = tmp_name(self.where)
        try:
            os.rename(self.where, doomed)  # only one waiter's rename succeeds
        except FileNotFoundError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    def wait_released(self) -> None:
        """Returns once nobody holds the lock, removing records that stopped changing (dead holders)."""
        seen: dict[str, tuple[str, float]] = {}
        announced = False
        while True:
            records = self._records()
            if not records:
                return
            now = time.monotonic()
            for name, version in records.items():
                if seen.get(name, ("", 0.0))[0] != version or name not in seen:
                    seen[name] = (version, now)
                elif now - seen[name][1] > stale_after():
                    log(f"{self.where}: the holder {name or '(no record)'} stopped its heartbeat; taking over")
                    self._break(name)
            if not announced:
                log(f"waiting for another Job to finish fetching {self.entry} (lock {self.where})")
                announced = True
            time.sleep(poll_every())

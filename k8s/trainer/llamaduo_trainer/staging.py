"""Runs a step whose spec names s3:// locations: inputs are downloaded into a private work folder, the
step runs on local paths as usual, and its outputs are uploaded back with result.json last, so a reader
that trusts only a committed result.json never sees half an output.

Checkpoints go up as soon as they are written (<outputDir>/checkpoints/step-N/, its manifest.json
last), and a run restores the newest committed one before training: a preempted Job resumes on any node."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

from . import base_model, checkpoints, model_source, remote
from .errors import SpecError
from .manifest import write_json_atomic
from .progress import log
from .remote import S3Path
from .spec import AnySpec, ExportSpec, FinetuneSpec

_STEP = re.compile(r"^step-(\d{8})/manifest\.json$")
CHECKPOINT_MANIFEST = "manifest.json"


def needs_staging(spec: AnySpec) -> bool:
    if model_source.parse(spec.baseModel).kind not in ("builtin", "dir"):
        return True
    paths = [spec.outputDir]
    if isinstance(spec, FinetuneSpec):
        paths += list(spec.datasets)
    elif isinstance(spec, ExportSpec):
        paths += [spec.adapterDir]
    else:
        paths += [spec.prompts, spec.adapterDir]
    return any(remote.is_remote(p) for p in paths)


class Staging:
    def __init__(self, spec: AnySpec, spec_path: str) -> None:
        self.spec = spec
        self.spec_path = spec_path
        parent = os.environ.get("LLAMADUO_WORK_DIR") or None
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="llamaduo-trainer-", dir=parent)
        self.base_revision: str | None = None
        self.remote_out = S3Path.parse(spec.outputDir) if remote.is_remote(spec.outputDir) else None
        self.local_out = os.path.join(self.work, "out") if self.remote_out else spec.outputDir
        if self.remote_out:
            remote.check_bucket(self.remote_out)
            checkpoints.after_save.append(self._publish_checkpoint)

    # inputs

    def _file(self, uri: str, name: str, field: str) -> str:
        if not remote.is_remote(uri):
            return uri
        src = S3Path.parse(uri)
        remote.check_bucket(src)
        if not remote.exists(src):
            raise SpecError(self.spec_path, f"{uri} does not exist", field=field)
        local = os.path.join(self.work, "inputs", name)
        remote.download_file(src, local)
        return local

    def _dir(self, uri: str | None, name: str, field: str) -> str | None:
        if not remote.is_remote(uri):
            return uri
        src = S3Path.parse(uri)
        remote.check_bucket(src)
        local = os.path.join(self.work, "inputs", name)
        if remote.download_prefix(src, local) == 0:
            raise SpecError(self.spec_path, f"{uri} holds no files", field=field)
        return local

    def localize(self) -> AnySpec:
        """The spec with every s3:// location replaced by a local copy (outputs: a local folder)."""
        s = self.spec
        update: dict = {"outputDir": self.local_out}
        fetched = base_model.fetch(model_source.parse(s.baseModel), self.work, s.modelCache, s.baseModelLock)
        self.base_revision = fetched.revision
        if fetched.path != s.baseModel:
            update["baseModel"] = fetched.path
        if isinstance(s, FinetuneSpec):
            update["datasets"] = [
                self._file(d, f"dataset-{i}-{os.path.basename(d)}", f"datasets.{i}") for i, d in enumerate(s.datasets)
            ]
            self._restore_checkpoint()
        elif isinstance(s, ExportSpec):
            update["adapterDir"] = self._dir(s.adapterDir, "adapter", "adapterDir")
        else:
            update["prompts"] = self._file(s.prompts, f"prompts-{os.path.basename(s.prompts)}", "prompts")
            update["adapterDir"] = self._dir(s.adapterDir, "adapter", "adapterDir")
        return s.model_copy(update=update)

    # checkpoints

    def _ckpt_root(self) -> S3Path:
        assert self.remote_out
        return self.remote_out.child("checkpoints")

    def _committed_steps(self) -> list[int]:
        return sorted(int(m.group(1)) for k in remote.list_keys(self._ckpt_root()) if (m := _STEP.match(k)))

    def _restore_checkpoint(self) -> None:
        if not self.remote_out:
            return
        steps = self._committed_steps()
        if not steps:
            return
        name = f"step-{steps[-1]:08d}"
        src = self._ckpt_root().child(name)
        manifest = json.loads(remote.read_bytes(src.child(CHECKPOINT_MANIFEST)))
        local = os.path.join(self.local_out, "checkpoints", name)
        for rel, meta in manifest["files"].items():
            remote.download_file(src.child(rel), os.path.join(local, rel), sha256=meta["sha256"])
        log(f"restored checkpoint {src} ({len(manifest['files'])} files)")

    def _publish_checkpoint(self, local_path: str, step: int) -> None:
        name = os.path.basename(local_path)
        dest = self._ckpt_root().child(name)
        files = remote.upload_dir(local_path, dest)
        # The manifest goes last: a checkpoint without one is incomplete and never restored.
        body = {"step": step, "files": files}
        remote.upload_bytes(json.dumps(body, indent=2).encode() + b"\n", dest.child(CHECKPOINT_MANIFEST))
        for old in self._committed_steps()[: -checkpoints.KEEP]:
            stale = self._ckpt_root().child(f"step-{old:08d}")
            remote.delete_prefix(stale)
        log(f"checkpoint step {step} uploaded to {dest}")

    # outputs

    def _remote_path(self, value):
        if isinstance(value, str) and self.remote_out and value.startswith(self.local_out):
            return str(self.remote_out) + value[len(self.local_out) :]
        return value

    def publish(self) -> None:
        """Uploads the outputs, then result.json with its paths rewritten to s3:// locations."""
        if self.remote_out:
            remote.upload_dir(self.local_out, self.remote_out, skip=("checkpoints", "result.json"))
        self.publish_result()

    def publish_result(self) -> None:
        """result.json names the spec's own locations (not the local copies) and the base model's revision."""
        path = os.path.join(self.local_out, "result.json")
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
        body["outputs"] = {k: self._remote_path(v) for k, v in (body.get("outputs") or {}).items()}
        for field in ("baseModel", "adapterDir"):
            if field in body:
                body[field] = getattr(self.spec, field)
        if self.base_revision and body.get("status") != "failed":
            body["baseModelRevision"] = self.base_revision
        if not self.remote_out:
            write_json_atomic(path, body)
            return
        remote.upload_bytes(json.dumps(body, indent=2).encode() + b"\n", self.remote_out.child("result.json"))

    def close(self) -> None:
        if self._publish_checkpoint in checkpoints.after_save:
            checkpoints.after_save.remove(self._publish_checkpoint)
        shutil.rmtree(self.work, ignore_errors=True)

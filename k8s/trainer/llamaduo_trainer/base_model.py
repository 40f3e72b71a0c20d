"""Gets a spec's base model onto local disk, downloading it once per cluster rather than once per step.

A Hub model's revision is resolved to a commit sha once per migration and recorded in the spec's
`baseModelLock` (a small JSON in the artifact store), so every cycle trains and generates on the same weights
even when the branch moves. The files are cached under the spec's `modelCache` (a directory on the shared
volume, or an s3:// prefix): `hub/<org>/<name>/<sha>/`, and a GGUF file's dequantized model under
`gguf/<sha256 of the file>/`. A cache entry counts only once its manifest.json (`{source, revision, files:
{name: {sha256, bytes}}}`) exists, and the manifest is written last, so a Job killed mid-upload leaves
nothing a later Job trusts. Reads from an s3:// cache verify each file's sha256 against the manifest.

The Hub token comes from HF_TOKEN (a Kubernetes Secret on the Job), HF_ENDPOINT points at a mirror, and
HF_HUB_OFFLINE=1 forbids any Hub request; huggingface_hub reads all three itself."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass

from . import remote
from .errors import ModelError
from .model_source import ModelSource
from .progress import log
from .remote import S3Path

MANIFEST = "manifest.json"
LOCAL_META = ".cache"  # huggingface_hub's bookkeeping inside a local_dir download
# Formats the trainer never loads; with safetensors present, the pickled duplicates are skipped too.
_NEVER = (".h5", ".msgpack", ".onnx", ".onnx_data", ".gguf", ".ot", ".tflite", ".mlmodel", ".nemo")
_PICKLED = (".bin", ".pt", ".pth", ".ckpt")
_WEIGHTS = (".safetensors", *_PICKLED)
TRANSIENT_ATTEMPTS = 4


@dataclass(frozen=True)
class LocalModel:
    path: str
    # the commit sha a Hub model was pinned to
    revision: str | None = None
    from_cache: bool = False


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


# A place that is either a local directory or an s3:// prefix.


class Place:
    def __init__(self, where: str) -> None:
        self.where = where.rstrip("/")
        self.s3 = S3Path.parse(self.where) if remote.is_remote(self.where) else None

    def child(self, name: str) -> Place:
        return Place(f"{self.where}/{name}")

    def read_json(self) -> dict | None:
        if self.s3:
            if not remote.exists(self.s3):
                return None
            return json.loads(remote.read_bytes(self.s3))
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
        tmp = f"{self.where}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.where)

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


def cache_get(entry: Place, work_dir: str) -> str | None:
    """A committed cache entry as a local directory (an s3:// one is downloaded and verified), else None."""
    manifest = entry.child(MANIFEST).read_json()
    if manifest is None:
        return None
    if not entry.s3:
        return entry.where
    local = os.path.join(work_dir, "base-model")
    shutil.rmtree(local, ignore_errors=True)
    for rel, meta in manifest["files"].items():
        remote.download_file(entry.s3.child(rel), os.path.join(local, rel), sha256=meta["sha256"])
    return local


def cache_put(local_dir: str, entry: Place, body: dict) -> str:
    """Commits local_dir as a cache entry: files first, manifest last. Returns where it can be read locally."""
    files = _digest_dir(local_dir)
    manifest = {**body, "files": files}
    if entry.s3:
        for rel in files:
            remote.upload_file(os.path.join(local_dir, rel), entry.s3.child(rel))
        entry.child(MANIFEST).write_json(manifest)
        return local_dir
    partial = f"{entry.where}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(local_dir, partial, ignore=shutil.ignore_patterns(LOCAL_META))
    Place(os.path.join(partial, MANIFEST)).write_json(manifest)
    try:
        os.rename(partial, entry.where)
    except OSError:
        # Another Job committed the same entry first: its copy is as good as ours.
        shutil.rmtree(partial, ignore_errors=True)
    return entry.where


def has_chat_template(model_dir: str) -> bool:
    for name in ("chat_template.jinja", "chat_template.json", "additional_chat_templates"):
        if os.path.exists(os.path.join(model_dir, name)):
            return True
    try:
        with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            return bool(json.load(f).get("chat_template"))
    except (OSError, ValueError):
        return False


def require_chat_template(model_dir: str, uri: str) -> None:
    if not has_chat_template(model_dir):
        raise ModelError(
            uri,
            "the model has no chat template (no chat_template.jinja, and no chat_template in "
            "tokenizer_config.json); use an instruct/chat release of the model, or add its chat_template.jinja",
        )


# The Hugging Face Hub


def _transient(err: Exception) -> bool:
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(err, (GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError)):
        return False
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code if err.response is not None else None
        return status is None or status >= 500 or status in (408, 429)
    if isinstance(err, LocalEntryNotFoundError):
        # hf_hub_download reports a failed metadata request (5xx, timeout) this way when nothing is on disk.
        return not _offline() and err.__cause__ is not None and _transient(err.__cause__)
    return isinstance(err, (httpx2.TransportError, TimeoutError, ConnectionError))


def _hub_error(err: Exception, source: ModelSource) -> Exception:
    """What retrying cannot fix becomes a ModelError naming the model and the fix; the rest stays as is."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{source.value} (Hub at {_hub_endpoint()})"
    token = "the Secret named by gpu.hub.tokenSecret (HF_TOKEN)"
    if isinstance(err, GatedRepoError):
        return ModelError(
            where,
            f"the model is gated and the request carried no token that may read it; accept its license on the "
            f"Hub with the account whose token you put in {token}",
        )
    if isinstance(err, RepositoryNotFoundError):
        return ModelError(
            where,
            "no such model (or a private one this token cannot see); check the id and HF_ENDPOINT, or set "
            f"{token} to a token with read access",
        )
    if isinstance(err, RevisionNotFoundError):
        return ModelError(where, f"the model has no revision {source.revision!r}; use a branch, tag or commit sha")
    if isinstance(err, RemoteEntryNotFoundError):
        return ModelError(where, f"a file listed for the model is missing on the server: {err}")
    if isinstance(err, (OfflineModeIsEnabled, LocalEntryNotFoundError)) and _offline():
        return ModelError(
            where,
            "HF_HUB_OFFLINE=1 forbids Hub requests and the model is not in the cache for this migration; "
            "unset gpu.hub.offline, or run once online so the cache holds it",
        )
    if isinstance(err, HfHubHTTPError) and err.response is not None and err.response.status_code in (401, 403):
        return ModelError(
            where,
            f"the Hub refused the token ({err.response.status_code}); put a valid read token in {token}",
        )
    return err


def _hub_call(source: ModelSource, what: str, fn, *args, **kwargs):
    """Transient failures (5xx, timeouts, connection resets) are retried here with backoff before the step fails."""
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - classified and re-raised
            if attempt < TRANSIENT_ATTEMPTS and _transient(e):
                log(f"{source.value}: {what} failed ({type(e).__name__}); retrying in {2**attempt}s")
                time.sleep(2**attempt)
                continue
            raise _hub_error(e, source) from e
    raise AssertionError("unreachable")


def resolve_revision(source: ModelSource, lock: Place | None) -> str:
    """The commit sha of source's revision: from the source itself, the migration's lock, or the Hub (recorded)."""
    if source.pinned:
        return source.revision  # type: ignore[return-value]
    if lock is not None:
        rec = lock.read_json()
        if rec and rec.get("source") == source.value:
            return rec["revision"]
    from huggingface_hub import HfApi

    if _offline():
        raise ModelError(
            source.value,
            "HF_HUB_OFFLINE=1 and the revision is not a commit sha, so it cannot be resolved; pin it "
            "(org/name@<40-hex sha>) or unset gpu.hub.offline",
        )
    info = _hub_call(source, "revision lookup", HfApi().model_info, source.repo, revision=source.revision or "main")
    sha = info.sha
    log(f"{source.value}: revision {source.revision or 'main'} is commit {sha}")
    if lock is not None:
        lock.write_json({"source": source.value, "repo": source.repo, "revision": sha})
        # Two steps resolving at once: both continue with whichever record landed.
        rec = lock.read_json()
        sha = rec["revision"] if rec and rec.get("source") == source.value else sha
    return sha


def hub_files(names: list[str]) -> list[str]:
    """Top-level files the trainer loads: small files first (the chat template check needs them), then weights."""
    top = [n for n in names if "/" not in n and not n.lower().endswith(_NEVER)]
    if any(n.endswith(".safetensors") for n in top):
        top = [n for n in top if not n.endswith(_PICKLED)]
    return sorted(top, key=lambda n: (n.endswith(_WEIGHTS), n))


def download_hub(source: ModelSource, sha: str, dest: str) -> None:
    from huggingface_hub import HfApi, hf_hub_download

    files = _hub_call(source, "file listing", HfApi().list_repo_files, source.repo, revision=sha)
    wanted = hub_files(files)
    if not any(n.endswith(_WEIGHTS) for n in wanted):
        raise ModelError(source.value, f"commit {sha} holds no safetensors or PyTorch weights at its top level")
    checked = False
    for name in wanted:
        if not checked and name.endswith(_WEIGHTS):
            require_chat_template(dest, source.value)
            checked = True
        _hub_call(source, f"download of {name}", hf_hub_download, source.repo, name, revision=sha, local_dir=dest)
    log(f"{source.value}: downloaded {len(wanted)} files of commit {sha}")


# GGUF


def dequantize_gguf(gguf_path: str, dest: str) -> None:
    """transformers reads the GGUF file through PyPI `gguf` and dequantizes every tensor to full precision."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src_dir, name = os.path.split(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
    # The loaded model remembers it came from GGUF and refuses save_pretrained; its weights are plain
    # dequantized tensors by now, so dropping that marker is all that is needed to save them.
    model.hf_quantizer = None
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(model.config, attr):
            delattr(model.config, attr)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)


def _gguf_sha256(source: ModelSource, work_dir: str) -> tuple[str, str | None]:
    """(sha256 of the file, local copy if one had to be made to learn it)."""
    if source.kind == "gguf":
        if not os.path.isfile(source.value):
            raise ModelError(source.value, "no such GGUF file on this node; mount it or put it in the store")
        return remote.file_digest(source.value)["sha256"], source.value
    src = S3Path.parse(source.value)
    remote.check_bucket(src)
    meta = remote.head_metadata(src)
    if meta is None:
        raise ModelError(source.value, "no such object; upload the GGUF file there or fix the URI")
    if "sha256" in meta:
        return meta["sha256"], None
    local = os.path.join(work_dir, "gguf", os.path.basename(src.key))
    remote.download_file(src, local)
    return remote.file_digest(local)["sha256"], local


def fetch_gguf(source: ModelSource, work_dir: str, cache: Place | None) -> LocalModel:
    sha, local_file = _gguf_sha256(source, work_dir)
    entry = cache.child(f"gguf/{sha}") if cache else None
    if entry:
        hit = cache_get(entry, work_dir)
        if hit:
            log(f"{source.value}: dequantized model from the cache at {entry}")
            return LocalModel(hit, revision=f"sha256:{sha}", from_cache=True)
    if local_file is None:
        local_file = os.path.join(work_dir, "gguf", os.path.basename(S3Path.parse(source.value).key))
        remote.download_file(S3Path.parse(source.value), local_file, sha256=sha)
    out = os.path.join(work_dir, "gguf-dequantized")
    t0 = time.monotonic()
    dequantize_gguf(local_file, out)
    log(f"{source.value}: dequantized in {time.monotonic() - t0:.0f}s")
    require_chat_template(out, source.value)
    if entry:
        out = cache_put(out, entry, {"source": source.value, "revision": f"sha256:{sha}"})
    return LocalModel(out, revision=f"sha256:{sha}")


def fetch(source: ModelSource, work_dir: str, cache: str | None = None, lock: str | None = None) -> LocalModel:
    """A local directory holding the model `source` names (builtins are returned as they are)."""
    if source.kind == "builtin":
        return LocalModel(source.value)
    if source.kind == "dir":
        if not os.path.isdir(source.value):
            raise ModelError(source.value, "no such model directory on this node; mount it or name another source")
        require_chat_template(source.value, source.value)
        return LocalModel(source.value)
    cache_place = Place(cache) if cache else None
    if cache_place and cache_place.s3:
        remote.check_bucket(cache_place.s3)
    if source.kind in ("gguf", "s3-gguf"):
        return fetch_gguf(source, work_dir, cache_place)
    if source.kind == "s3":
        src = S3Path.parse(source.value)
        remote.check_bucket(src)
        local = os.path.join(work_dir, "base-model")
        if remote.download_prefix(src, local, verify=True) == 0:
            raise ModelError(source.value, "holds no files; upload the model directory there or fix the URI")
        require_chat_template(local, source.value)
        return LocalModel(local)

    sha = resolve_revision(source, Place(lock) if lock else None)
    entry = cache_place.child(f"hub/{source.repo}/{sha}") if cache_place else None
    if entry:
        hit = cache_get(entry, work_dir)
        if hit:
            require_chat_template(hit, source.value)
            log(f"{source.value}: commit {sha} from the cache at {entry}")
            return LocalModel(hit, revision=sha, from_cache=True)
    dest = os.path.join(work_dir, "hub-download")
    download_hub(source, sha, dest)
    if entry:
        dest = cache_put(dest, entry, {"source": source.value, "repo": source.repo, "revision": sha})
        log(f"{source.value}: commit {sha} cached at {entry}")
    return LocalModel(dest, revision=sha)

"""Gets a spec's base model onto local disk, downloading it once per cluster rather than once per step.

A Hub model's revision is resolved to a commit sha once per migration and recorded in the spec's
`baseModelLock` (a small JSON in the artifact store), so every cycle trains and generates on the same weights
even when the branch moves. The files are cached under the spec's `modelCache` (a directory on the shared
volume, or an s3:// prefix): `hub/<org>/<name>/<sha>/`, and a GGUF file's dequantized model under
`gguf/<sha256 of the file>/` (model_cache.py: committed by a manifest written last, every file verified on
each read, filled by one Job at a time).

The Hub token comes from HF_TOKEN (a Kubernetes Secret on the Job), HF_ENDPOINT points at a mirror, and
HF_HUB_OFFLINE=1 forbids any Hub request; huggingface_hub reads all three itself."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

from . import remote
from .errors import ModelError
from .model_cache import Place, fill
from .model_source import ModelSource
from .progress import log
from .remote import S3Path

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
        record = {"source": source.value, "repo": source.repo, "revision": sha}
        # Two steps resolving at once (a retried step whose old pod still runs): the first record wins and
        # both continue with it, so they never train and generate on different commits.
        created = lock.create_json(record)
        # Read back even when created: a server that ignores If-None-Match lets the last writer win.
        rec = lock.read_json()
        if rec and rec.get("source") == source.value:
            return rec["revision"]
        if not created:
            lock.write_json(record)  # a record for another baseModel: this migration's config changed
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


def _gguf_sha256(source: ModelSource, work_dir: str, cache: Place | None) -> tuple[str, str | None]:
    """(sha256 of the file, local copy if one had to be made to learn it).

    An object this project uploaded carries its sha256. One uploaded by another tool (`aws s3 cp`) does not:
    it is downloaded and hashed once, and the hash is remembered in the cache under the object's ETag and
    size (`gguf-sources/<sha256 of the URI>.json`), so later steps know it from a HEAD while the object is
    unchanged instead of downloading gigabytes to hash them again."""
    if source.kind == "gguf":
        if not os.path.isfile(source.value):
            raise ModelError(source.value, "no such GGUF file on this node; mount it or put it in the store")
        return remote.file_digest(source.value)["sha256"], source.value
    src = S3Path.parse(source.value)
    remote.check_bucket(src)
    answer = remote.head(src)
    if answer is None:
        raise ModelError(source.value, "no such object; upload the GGUF file there or fix the URI")
    meta = answer.get("Metadata", {})
    if "sha256" in meta:
        return meta["sha256"], None
    seen = {"source": source.value, "etag": answer.get("ETag"), "bytes": answer.get("ContentLength")}
    alias = cache.child(f"gguf-sources/{hashlib.sha256(source.value.encode()).hexdigest()}.json") if cache else None
    record = alias.read_json() if alias else None
    if record and {k: record.get(k) for k in seen} == seen and record.get("sha256"):
        log(f"{source.value}: sha256 {record['sha256']} as recorded at {alias} (object unchanged)")
        return record["sha256"], None
    local = os.path.join(work_dir, "gguf", os.path.basename(src.key))
    log(f"{source.value}: carries no sha256; downloading it to hash it")
    remote.download_file(src, local)
    sha = remote.file_digest(local)["sha256"]
    if alias:
        alias.write_json({**seen, "sha256": sha})
    return sha, local


def fetch_gguf(source: ModelSource, work_dir: str, cache: Place | None) -> LocalModel:
    sha, local_file = _gguf_sha256(source, work_dir, cache)
    revision = f"sha256:{sha}"

    def produce() -> tuple[str, dict]:
        gguf = local_file
        if gguf is None:
            gguf = os.path.join(work_dir, "gguf", os.path.basename(S3Path.parse(source.value).key))
            remote.download_file(S3Path.parse(source.value), gguf, sha256=sha)
        out = os.path.join(work_dir, "gguf-dequantized")
        t0 = time.monotonic()
        dequantize_gguf(gguf, out)
        log(f"{source.value}: dequantized in {time.monotonic() - t0:.0f}s")
        require_chat_template(out, source.value)
        return out, {"source": source.value, "revision": revision}

    if cache is None:
        return LocalModel(produce()[0], revision=revision)
    entry = cache.child(f"gguf/{sha}")
    path, hit = fill(entry, work_dir, produce)
    log(f"{source.value}: dequantized model {'from the cache at' if hit else 'cached at'} {entry}")
    return LocalModel(path, revision=revision, from_cache=hit)


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

    def produce() -> tuple[str, dict]:
        dest = os.path.join(work_dir, "hub-download")
        download_hub(source, sha, dest)
        return dest, {"source": source.value, "repo": source.repo, "revision": sha}

    if cache_place is None:
        return LocalModel(produce()[0], revision=sha)
    entry = cache_place.child(f"hub/{source.repo}/{sha}")
    path, hit = fill(entry, work_dir, produce)
    if hit:
        require_chat_template(path, source.value)
    log(f"{source.value}: commit {sha} {'from the cache at' if hit else 'cached at'} {entry}")
    return LocalModel(path, revision=sha, from_cache=hit)

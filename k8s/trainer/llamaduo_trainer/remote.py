"""S3-compatible object storage for the trainer: inputs, outputs and checkpoints addressed as
s3://bucket/key, so a GPU Job needs no shared volume. boto3 reads the same environment as the workers:
AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION, and credentials from its default chain (environment,
shared config, IRSA web identity, instance metadata). LLAMADUO_S3_PATH_STYLE=0 turns path-style off.

Every object this module writes carries sha256, bytes and lines in its metadata, the same fields the
TypeScript store writes (activities/store/s3-store.ts), so both sides reference it without reading it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from .errors import StoreError
from .tmpnames import tmp_name

CHUNK = 1 << 20
# Multipart above this size (adapters, merged weights and checkpoints are large).
MULTIPART_THRESHOLD = 16 * 1024 * 1024

_CONFIG_CODES = {"NoSuchBucket"}
# ExpiredToken is left out: boto3 refreshes IRSA / Workload Identity credentials, so a retry succeeds.
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "AuthorizationHeaderMalformed",
}


class DigestMismatch(OSError):
    """Downloaded bytes that are not the ones recorded (a damaged or half-replaced object)."""


class MissingObject(OSError):
    """A key that is not there (deleted between a listing and the read)."""


def is_remote(path: str | None) -> bool:
    return bool(path) and path.startswith("s3://")


@dataclass(frozen=True)
class S3Path:
    bucket: str
    key: str

    @staticmethod
    def parse(uri: str) -> S3Path:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri}")
        return S3Path(bucket, key.strip("/"))

    def child(self, name: str) -> S3Path:
        return S3Path(self.bucket, f"{self.key}/{name}" if self.key else name)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@lru_cache(maxsize=1)
def client():
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    path_style_env = os.environ.get("LLAMADUO_S3_PATH_STYLE")
    path_style = path_style_env != "0" if path_style_env else bool(endpoint)
    kwargs = {"retries": {"max_attempts": 5, "mode": "standard"}}
    if path_style:
        kwargs["s3"] = {"addressing_style": "path"}
    if endpoint:
        # Several S3-compatible servers reject the newer default CRC checksums.
        kwargs["request_checksum_calculation"] = "when_required"
        kwargs["response_checksum_validation"] = "when_required"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region, config=Config(**kwargs))


def classify(err: Exception, uri: str, op: str) -> Exception:
    """Configuration errors become StoreError (exit 2, not retried); the rest stay as they are (exit 1)."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
        return StoreError(
            uri,
            f"{op}: no S3 credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE "
            "or the pod's IRSA role",
        )
    if not isinstance(err, ClientError):
        return err
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _CONFIG_CODES:
        return StoreError(uri, f"{op}: the bucket does not exist; create it or fix the store URI / AWS_ENDPOINT_URL_S3")
    if code in _CREDENTIAL_CODES:
        return StoreError(
            uri,
            f"{op}: the S3 credentials were rejected ({code}); fix AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the role",
        )
    if code in {"AccessDenied", "Forbidden", "403"} or status == 403:
        return StoreError(uri, f"{op}: access denied (403); grant s3:GetObject/PutObject/DeleteObject/ListBucket on it")
    return err


def _call(uri: str, op: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - re-raised, classified
        raise classify(e, uri, op) from e


def file_digest(path: str) -> dict[str, str]:
    h = hashlib.sha256()
    size = 0
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return {"sha256": h.hexdigest(), "bytes": str(size), "lines": str(lines)}


def _transfer_config():
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)


def upload_file(local: str, dest: S3Path) -> dict[str, str]:
    """One object, visible only once complete (S3 PUT / CompleteMultipartUpload are atomic)."""
    meta = file_digest(local)
    _call(
        str(dest),
        "upload",
        client().upload_file,
        local,
        dest.bucket,
        dest.key,
        ExtraArgs={"Metadata": meta},
        Config=_transfer_config(),
    )
    return meta


def upload_bytes(data: bytes, dest: S3Path) -> None:
    meta = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": str(len(data)),
        "lines": str(data.count(b"\n")),
    }
    _call(str(dest), "upload", client().put_object, Bucket=dest.bucket, Key=dest.key, Body=data, Metadata=meta)


def create_bytes(data: bytes, dest: S3Path) -> bool:
    """Writes dest only if it does not exist yet (If-None-Match: *); False when it already did. A server that
    ignores the condition overwrites: the caller reads the key back either way."""
    from botocore.exceptions import ClientError

    meta = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": str(len(data)),
        "lines": str(data.count(b"\n")),
    }
    try:
        client().put_object(Bucket=dest.bucket, Key=dest.key, Body=data, Metadata=meta, IfNoneMatch="*")
        return True
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(e.response.get("Error", {}).get("Code", ""))
        # 412: it exists; 409: a concurrent conditional write to the same key is in progress (AWS).
        if status in (409, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False
        raise classify(e, str(dest), "upload") from e


def read_bytes(src: S3Path) -> bytes:
    out = _call(str(src), "read", client().get_object, Bucket=src.bucket, Key=src.key)
    return out["Body"].read()


def _not_found(err: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(err, ClientError):
        return False
    code = str(err.response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404") or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


def read_bytes_or_none(src: S3Path) -> bytes | None:
    """The object's bytes, or None when there is no such key (one request: no HEAD that a delete can race)."""
    try:
        out = client().get_object(Bucket=src.bucket, Key=src.key)
    except Exception as e:  # noqa: BLE001 - classified
        if _not_found(e):
            return None
        raise classify(e, str(src), "read") from e
    return out["Body"].read()


def exists(src: S3Path) -> bool:
    from botocore.exceptions import ClientError

    try:
        client().head_object(Bucket=src.bucket, Key=src.key)
        return True
    except ClientError as e:
        if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise classify(e, str(src), "head") from e


def head(src: S3Path) -> dict | None:
    """HeadObject's answer (Metadata, ETag, ContentLength), or None if the object is absent."""
    from botocore.exceptions import ClientError

    try:
        return client().head_object(Bucket=src.bucket, Key=src.key)
    except ClientError as e:
        if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise classify(e, str(src), "head") from e


def head_metadata(src: S3Path) -> dict[str, str] | None:
    """The object's user metadata (sha256, bytes, lines when this project wrote it), or None if it is absent."""
    answer = head(src)
    return None if answer is None else answer.get("Metadata", {})


def check_bucket(src: S3Path) -> None:
    """A missing bucket answers HeadObject with a bare 404; ask once, up front, to report it as such."""
    from botocore.exceptions import ClientError

    try:
        client().head_bucket(Bucket=src.bucket)
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 403:
            # A HEAD answer has no body: a one-key listing tells a bad signature from a missing permission.
            _call(str(src), "open", client().list_objects_v2, Bucket=src.bucket, Prefix=src.key, MaxKeys=1)
            return
        if status == 404:
            raise StoreError(
                str(src), "the bucket does not exist; create it or fix the store URI / AWS_ENDPOINT_URL_S3"
            ) from e
        raise classify(e, str(src), "open") from e


def list_etags(prefix: S3Path) -> dict[str, str]:
    """{key relative to prefix/: ETag} for every object under prefix/ (a change of content changes the ETag)."""
    base = f"{prefix.key}/" if prefix.key else ""
    out: dict[str, str] = {}
    pages = client().get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=base)
    try:
        for page in pages:
            out.update({o["Key"][len(base) :]: o.get("ETag", "") for o in page.get("Contents", [])})
    except Exception as e:  # noqa: BLE001
        raise classify(e, str(prefix), "list") from e
    return out


def list_keys(prefix: S3Path) -> list[str]:
    """Keys under prefix/ (recursive), relative to it."""
    return sorted(list_etags(prefix))


def delete_key(target: S3Path) -> None:
    _call(str(target), "delete", client().delete_object, Bucket=target.bucket, Key=target.key)


def download_file(src: S3Path, local: str, sha256: str | None = None) -> None:
    os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
    tmp = tmp_name(local)
    try:
        client().download_file(src.bucket, src.key, tmp, Config=_transfer_config())
    except Exception as e:  # noqa: BLE001 - classified
        if os.path.exists(tmp):
            os.remove(tmp)
        if _not_found(e):
            raise MissingObject(f"{src}: no such object") from e
        raise classify(e, str(src), "download") from e
    if sha256 and file_digest(tmp)["sha256"] != sha256:
        os.remove(tmp)
        raise DigestMismatch(f"{src}: downloaded bytes do not match sha256 {sha256}")
    os.replace(tmp, local)


def download_prefix(prefix: S3Path, local_dir: str, verify: bool = False) -> int:
    """Every object under prefix/ into local_dir; returns how many. Zero objects is not an error here.
    With verify, an object whose metadata carries a sha256 is checked against it."""
    keys = list_keys(prefix)
    for rel in keys:
        src = prefix.child(rel)
        sha256 = (head_metadata(src) or {}).get("sha256") if verify else None
        download_file(src, os.path.join(local_dir, rel), sha256=sha256)
    return len(keys)


def upload_dir(local_dir: str, dest: S3Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """Uploads every file below local_dir (sorted, so a listing is stable); returns {relpath: metadata}."""
    files: dict[str, dict[str, str]] = {}
    for root, dirs, names in os.walk(local_dir):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
            if rel.split("/")[0] in skip or ".tmp-" in name:
                continue
            files[rel] = upload_file(full, dest.child(rel))
    return files


def delete_prefix(prefix: S3Path) -> None:
    for rel in list_keys(prefix):
        delete_key(prefix.child(rel))

"""What a spec's `baseModel` may name, and the grammar both sides check (common/model-source.ts is the
TypeScript twin):

    builtin:<name>                  a randomly initialised builtin (tests, CPU demo)
    /abs/dir                        a model directory (safetensors + tokenizer with a chat template)
    /abs/file.gguf                  a GGUF file, dequantized through transformers' GGUF support
    s3://bucket/prefix              a model directory in object storage
    s3://bucket/key.gguf            a GGUF file in object storage
    <org>/<name>[@<revision>]       a Hugging Face Hub model (branch, tag or commit sha; default main)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILTIN_PREFIX = "builtin:"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
HUB_ID = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})(?:@(?P<rev>[A-Za-z0-9._-][A-Za-z0-9._/-]{{0,199}}))?$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelSource:
    kind: str  # 'builtin' | 'dir' | 'gguf' | 's3' | 's3-gguf' | 'hub'
    value: str
    repo: str | None = None
    revision: str | None = None

    @property
    def pinned(self) -> bool:
        return self.revision is not None and bool(COMMIT_SHA.match(self.revision))


def parse(value: str) -> ModelSource:
    """Raises ValueError with a message that says what the accepted forms are."""
    v = value.strip()
    if v != value or not v:
        raise ValueError(f"{value!r} has leading or trailing blanks")
    if v.startswith(BUILTIN_PREFIX):
        return ModelSource("builtin", v)
    gguf = v.lower().endswith(".gguf")
    if v.startswith("s3://"):
        if len(v) <= len("s3://") or v[len("s3://")] == "/":
            raise ValueError(f"{v!r} names no bucket")
        return ModelSource("s3-gguf" if gguf else "s3", v)
    if v.startswith("/"):
        return ModelSource("gguf" if gguf else "dir", v)
    m = HUB_ID.match(v)
    if m and ".." not in v:
        return ModelSource("hub", v, repo=m.group("repo"), revision=m.group("rev"))
    raise ValueError(
        f"{v!r} is not a model source: use a Hugging Face Hub id (org/name or org/name@revision), an absolute "
        "model directory or .gguf file, an s3:// URI, or builtin:<name>"
    )

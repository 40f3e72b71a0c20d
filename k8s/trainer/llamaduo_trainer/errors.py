"""Errors a caller can act on: each names the file, line and field that were wrong."""

from __future__ import annotations


class SpecError(ValueError):
    """Bad input: the spec file or a dataset it points to."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        what = f" field '{field}'" if field else ""
        super().__init__(f"{where}:{what} {message}")
        self.path = path
        self.line = line
        self.field = field


class StoreError(ValueError):
    """The object store refused for a reason retrying cannot fix: missing bucket, bad credentials, 403."""

    def __init__(self, uri: str, message: str) -> None:
        super().__init__(f"{uri}: {message}")
        self.uri = uri


class ModelError(StoreError):
    """The base model cannot be had for a reason retrying cannot fix: unknown id or revision, gated without a
    token, no chat template, offline and not cached. Exit 2, like a store refusal."""

"""Tokenized training examples cached per dataset file, so a later cycle that trains on the same split (plus
new synthetic data) does not render and tokenize it again. The key covers everything the tokens depend on:
the file's bytes, the tokenizer (its files and chat template), the rendering code, maxSeqLength and this
module's format.

Cache directory: $LLAMADUO_TOKEN_CACHE, else ~/.cache/llamaduo/tokens; LLAMADUO_TOKEN_CACHE=off disables it.
A missing or unreadable entry is simply rebuilt."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from . import chat_tokens, stop_tokens, templating
from .chat_tokens import Example
from .tmpnames import tmp_name

FORMAT = 1
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")


def cache_dir() -> str | None:
    configured = os.environ.get("LLAMADUO_TOKEN_CACHE")
    if configured == "off":
        return None
    return configured or os.path.join(os.path.expanduser("~"), ".cache", "llamaduo", "tokens")


def tokenizer_fingerprint(base_model: str, tokenizer) -> str:
    h = hashlib.sha256(base_model.encode())
    if os.path.isdir(base_model):
        for name in TOKENIZER_FILES:
            path = os.path.join(base_model, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(name.encode() + b"\0" + f.read())
    h.update((getattr(tokenizer, "chat_template", None) or "").encode())
    # the code that renders and labels conversations: a trainer release that changes it must not reuse tokens
    # (stop_tokens: an answer without the whole template after it is labelled up to its end-of-turn token)
    for module in (chat_tokens, stop_tokens, templating):
        with open(module.__file__, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_examples(
    path: str, fingerprint: str, max_length: int, build: Callable[[], list[Example]]
) -> tuple[list[Example], bool]:
    """The examples of one dataset file and whether they came from the cache."""
    root = cache_dir()
    if root is None:
        return build(), False
    key = hashlib.sha256(f"{FORMAT}|{_file_sha256(path)}|{fingerprint}|{max_length}".encode()).hexdigest()
    entry = os.path.join(root, f"{key}.json")
    try:
        with open(entry, encoding="utf-8") as f:
            rows = json.load(f)
        return [Example(input_ids=ids, labels=labels) for ids, labels in rows], True
    except (OSError, ValueError, TypeError):
        pass
    examples = build()
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tmp_name(entry)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump([[e.input_ids, e.labels] for e in examples], f, separators=(",", ":"))
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only home only costs the next cycle a re-tokenization
    return examples, False

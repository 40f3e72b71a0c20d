"""Chat template rendering into token ids with loss labels on assistant tokens only."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError
from .stop_tokens import stop_token_ids
from .templating import render_ids

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def tokenize_conversation(tokenizer, messages: list[dict[str, str]], max_length: int) -> Example:
    """Token ids of the whole conversation; labels copy the ids of every assistant turn (its content
    and end-of-turn token, so the model learns to stop) and are IGNORE elsewhere.

    Each assistant span is found per turn, against the rendering of the whole conversation:
    - start: where the prompt (the turns before, with the generation prompt) stops being a prefix of
      the whole. That is all of the prompt for most templates, and the point before the added text for
      templates whose generation prompt adds what the rendered turn lacks (DeepSeek-R1's '<think>').
    - end: the conversation up to and including the turn, when that rendering is a prefix of the whole;
      otherwise (Qwen3 renders earlier answers without their <think> block) the turn's end-of-turn token."""
    full = render_ids(tokenizer, messages, generation_prompt=False)
    labels = [IGNORE] * len(full)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = _common_prefix(render_ids(tokenizer, messages[:i], generation_prompt=True), full)
        upto = render_ids(tokenizer, messages[: i + 1], generation_prompt=False)
        if len(upto) > start and full[: len(upto)] == upto:
            end = len(upto)
        else:
            stops = set(stop_token_ids(tokenizer))
            end = next((j + 1 for j in range(start, len(full)) if full[j] in stops), len(full))
        labels[start:end] = full[start:end]
    return Example(input_ids=full[:max_length], labels=labels[:max_length])


def prompt_ids(tokenizer, messages: list[dict[str, str]], max_length: int) -> list[int]:
    """The prompt for generation: the template with the assistant turn opened, keeping the last tokens."""
    ids = render_ids(tokenizer, messages, generation_prompt=True)
    return ids[-max_length:]


def require_examples(examples: list[Example], dropped: int, spec, spec_path: str) -> None:
    """A dataset whose every answer falls beyond maxSeqLength is bad input (exit 2), not a crash later."""
    if examples:
        return
    raise SpecError(
        spec_path,
        f"all {dropped} examples of {', '.join(spec.datasets)} lose their whole answer to truncation at "
        f"maxSeqLength={spec.train.maxSeqLength}; raise it or shorten the prompts",
        field="train.maxSeqLength",
    )

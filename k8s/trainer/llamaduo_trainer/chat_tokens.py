"""Chat template rendering into token ids with loss labels on assistant tokens only."""

from __future__ import annotations

from dataclasses import dataclass

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def _ids(tokenizer, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def tokenize_conversation(tokenizer, messages: list[dict[str, str]], max_length: int) -> Example:
    """Token ids of the whole conversation; labels copy the ids of every assistant turn (its content
    and end-of-turn token, so the model learns to stop) and are IGNORE elsewhere.

    Each assistant span is found by rendering the conversation up to that turn: the prefix with the
    generation prompt marks where the answer starts, the prefix including the turn marks where it ends.
    Templates whose rendering of a prefix is not a token prefix of the whole are rejected."""
    full = _ids(tokenizer, messages, generation_prompt=False)
    labels = [IGNORE] * len(full)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_ids(tokenizer, messages[:i], generation_prompt=True))
        upto = _ids(tokenizer, messages[: i + 1], generation_prompt=False)
        if full[: len(upto)] != upto or start > len(upto):
            raise ValueError("chat template does not render conversation prefixes as token prefixes")
        labels[start : len(upto)] = full[start : len(upto)]
    return Example(input_ids=full[:max_length], labels=labels[:max_length])


def prompt_ids(tokenizer, messages: list[dict[str, str]], max_length: int) -> list[int]:
    """The prompt for generation: the template with the assistant turn opened, keeping the last tokens."""
    ids = _ids(tokenizer, messages, generation_prompt=True)
    return ids[-max_length:]

"""Chat template rendering into token ids with loss labels on assistant tokens only."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError
from .stop_tokens import stop_token_ids
from .templating import render

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def _ids_within(tokenizer, text: str) -> list[int]:
    """Token ids of text that continues a longer text. SentencePiece-style tokenizers (Metaspace with
    prepend_scheme 'first': Phi-3, Llama 2 and Mistral converted without legacy) write a word-start mark in
    front of a text's first word, which inside the whole rendering only the first word of all gets: an answer
    tokenized on its own as '▁Paris' is 'Paris' after '<|assistant|>\n'. Behind a special token (split off
    before pre-tokenization, so it marks the continuation without merging into it) the text is tokenized as
    inside the whole; the anchor's id is then dropped. Byte-level BPE gives the same ids either way."""
    anchor = _anchor(tokenizer)
    if not text or anchor is None:
        return _ids(tokenizer, text)
    ids = _ids(tokenizer, anchor[0] + text)
    return ids[1:] if ids[:1] == [anchor[1]] else _ids(tokenizer, text)


def _anchor(tokenizer) -> tuple[str, int] | None:
    """A special token (text, id) that tokenizes alone to itself and strips no whitespace around it (an
    rstrip token would eat the space a continuation starts with); None when the tokenizer has none."""
    candidates = (tokenizer.eos_token, tokenizer.bos_token, tokenizer.pad_token)
    cached = getattr(tokenizer, "_llamaduo_anchor", None)
    if cached is not None and cached[0] == candidates:
        return cached[1]
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    found = None
    for text in candidates:
        ids = _ids(tokenizer, text) if text else []
        token = added.get(ids[0]) if len(ids) == 1 else None
        if token is not None and not getattr(token, "rstrip", False) and not getattr(token, "lstrip", False):
            found = (text, ids[0])
            break
    try:
        tokenizer._llamaduo_anchor = (candidates, found)  # looked up once per tokenizer and special tokens
    except AttributeError:
        pass
    return found


def _answer_start(tokenizer, messages, i: int, text: str, after_previous: int | None) -> int:
    """Where assistant turn i's trained text starts in `text` (a rendering of messages[: i + 1] or more).

    The generation prompt for turn i is the rendering of the turns before it with the assistant turn opened.
    What that prompt writes after the previous turn's content (the end of that turn and the assistant
    header) is matched against `text` right after the same content, and the answer starts where they part:
    after the whole header for most templates, before text the generation prompt adds and the rendered turn
    lacks (DeepSeek-R1's '<think>'). Anchoring on the previous content rather than on the whole prompt
    copes with templates that render earlier turns differently once later ones exist (Mistral writes the
    system text into the last user turn; Qwen3 drops earlier think blocks)."""
    prompt = render(tokenizer, messages[:i], generation_prompt=True)
    previous = next((m["content"].strip() for m in reversed(messages[:i]) if m["role"] != "system"), "")
    at = prompt.rfind(previous) if previous else -1
    if after_previous is None or at < 0:
        return _common_prefix(prompt, text)
    tail = prompt[at + len(previous) :]
    return after_previous + _common_prefix(tail, text[after_previous:])


def _answer_end(tokenizer, messages, i: int, text: str, start: int, stop_texts: list[str]) -> int:
    """Where assistant turn i's trained text ends: the end of the conversation rendered up to and including
    the turn, when that is a prefix of `text` (so the turn's end-of-turn token, and a newline the template
    writes after it, are trained); otherwise the first end-of-turn token after the answer's content."""
    upto = render(tokenizer, messages[: i + 1], generation_prompt=False)
    if len(upto) > start and text.startswith(upto):
        return len(upto)
    content = messages[i]["content"].strip()
    at = text.find(content, start) if content else -1
    after = at + len(content) if at >= 0 else start
    ends = [text.find(s, after) + len(s) for s in stop_texts if s and text.find(s, after) >= 0]
    return min(ends) if ends else len(text)


def _answer_spans(tokenizer, messages, text: str) -> list[tuple[int, int]]:
    """Character spans of every assistant turn in `text`, the rendering of `messages`."""
    stop_texts = [t for t in tokenizer.convert_ids_to_tokens(stop_token_ids(tokenizer)) if t]
    spans: list[tuple[int, int]] = []
    cursor = 0
    after_previous = None
    for i, message in enumerate(messages):
        if message["role"] == "system":
            continue  # templates move system text (into the first or the last user turn): not an anchor
        if message["role"] != "assistant":
            content = message["content"].strip()
            at = text.find(content, cursor) if content else -1
            after_previous = at + len(content) if at >= 0 else None
            cursor = after_previous if at >= 0 else cursor
            continue
        start = max(cursor, _answer_start(tokenizer, messages, i, text, after_previous))
        end = max(start, _answer_end(tokenizer, messages, i, text, start, stop_texts))
        spans.append((start, end))
        cursor = end
        after_previous = end
    return spans


def _segment_ids(tokenizer, text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Token ids of text tokenized piece by piece (prompt, answer, prompt, ...), with labels on the answers.

    Tokenizing the pieces apart keeps the tokens before an answer the same as the generation prompt's: whole,
    a BPE vocabulary may merge the prompt's last characters with the answer's first ones ('\\n\\n' + 'Paris')."""
    ids: list[int] = []
    labels: list[int] = []
    pos = 0
    for start, end in spans:
        prompt = (_ids if pos == 0 else _ids_within)(tokenizer, text[pos:start])
        answer = _ids_within(tokenizer, text[start:end])
        ids += prompt + answer
        labels += [IGNORE] * len(prompt) + answer
        pos = end
    rest = (_ids if pos == 0 else _ids_within)(tokenizer, text[pos:])
    return ids + rest, labels + [IGNORE] * len(rest)


def tokenize_conversation(tokenizer, messages: list[dict[str, str]], max_length: int) -> Example:
    """Token ids of the whole conversation; labels copy the ids of every assistant turn (its content
    and end-of-turn token, so the model learns to stop) and are IGNORE elsewhere. Each answer's span is
    found in the rendered text (see _answer_start, _answer_end) and the text is tokenized piece by piece,
    so the tokens before the last answer are exactly prompt_ids of the turns before it."""
    text = render(tokenizer, messages, generation_prompt=False)
    ids, labels = _segment_ids(tokenizer, text, _answer_spans(tokenizer, messages, text))
    return Example(input_ids=ids[:max_length], labels=labels[:max_length])


def prompt_ids(tokenizer, messages: list[dict[str, str]], max_length: int) -> list[int]:
    """The prompt for generation: the template with the assistant turn opened, tokenized as training
    tokenizes it (earlier answers apart from their prompts), keeping the last tokens."""
    text = render(tokenizer, messages, generation_prompt=True)
    ids, _ = _segment_ids(tokenizer, text, _answer_spans(tokenizer, messages, text))
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
